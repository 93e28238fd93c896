/**
 * The bridge's worker (CommonJS, evaluated in a worker thread: `require` of ioredis by its resolved
 * path works there under vitest and from dist/ alike). It owns the one ioredis connection, runs what
 * the main thread asks (a defined script, or a plain command) and answers on the channel (an error
 * says whether Redis itself replied with it: then the command did not run), then wakes
 * the main thread (state[0] = 1 + Atomics.notify). It also renews a lease every `intervalMs` and sets
 * state[1] = 1 the first time the lease is found no longer ours.
 */
export const BRIDGE_WORKER_SOURCE = String.raw`
const { workerData } = require("node:worker_threads");
const mod = require(workerData.ioredis);
const Redis = mod.Redis || mod.default || mod;
const { port, url, scripts } = workerData;
const state = new Int32Array(workerData.state);
// a command in flight when the connection drops is NOT sent again: its outcome is unknown, and the
// main side fails the store closed rather than applying a batch twice
const redis = new Redis(url, { lazyConnect: false, enableReadyCheck: true, maxRetriesPerRequest: 2, autoResendUnfulfilledCommands: false });
redis.on("error", () => {}); // reconnects by itself; a call that cannot complete times out on the main side
for (const [name, s] of Object.entries(scripts)) redis.defineCommand(name, { numberOfKeys: s.keys, lua: s.lua });
let renewal = null;
const reply = (msg) => {
  port.postMessage(msg);
  Atomics.store(state, 0, 1);
  Atomics.notify(state, 0);
};
const run = (m) => {
  if (m.op === "script") return redis[m.name](...m.args);
  if (m.op === "call") return redis.call(...m.args);
  if (m.op === "renew") {
    if (renewal) clearInterval(renewal);
    renewal = setInterval(() => {
      redis[m.name](...m.args, String(Date.now())).then((r) => { if (r === 0) Atomics.store(state, 1, 1); }, () => {});
    }, m.intervalMs);
    return Promise.resolve(1);
  }
  if (m.op === "stopRenew") {
    if (renewal) clearInterval(renewal);
    renewal = null;
    return Promise.resolve(1);
  }
  if (m.op === "quit") {
    if (renewal) clearInterval(renewal);
    renewal = null;
    return redis.quit().catch(() => redis.disconnect());
  }
  return Promise.reject(new Error("unknown bridge op " + m.op));
};
port.on("message", (m) => {
  let p;
  try { p = run(m); } catch (err) { p = Promise.reject(err); }
  p.then((value) => reply({ id: m.id, value }), (err) => reply({ id: m.id, error: String((err && err.message) || err), reply: Boolean(err && err.name === "ReplyError") }));
});
`;
