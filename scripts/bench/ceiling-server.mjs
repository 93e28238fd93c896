#!/usr/bin/env node
// Baseline for the bench: the ceiling of this protocol on this machine. A bare `ws` server that does
// the wire protocol and durability and nothing of causeway's (no lanes, engine, validation, state,
// idempotency, metrics). Each frame is JSON.parsed; each command appends `--rows-per-command` rows
// (1, or 3: one per phase) to a better-sqlite3 WAL database with synchronous=FULL. Group commit:
// every frame that arrived in one event-loop turn goes in one transaction, committed at
// setImmediate. Only after that commit is each command answered: 3 lifecycle events
// (command_accepted / command_started / command_finished, shaped like causeway's; none with
// --responses-only) then its response, to the connection that sent it. All frames of one turn to
// one connection leave in one writev: its socket (the upgrade request's public `req.socket`) is
// corked on the first frame and uncorked on the next tick. Understands `set`, `create_session` and
// `health_check` (group-commit counters), enough for the bench's load (lib/load.mjs). Prints its port.
//
//   node scripts/bench/ceiling-server.mjs --db <file> [--rows-per-command 1|3] [--responses-only]
import { parseArgs } from "node:util";
import Database from "better-sqlite3";
import { WebSocketServer } from "ws";

const { values: opt } = parseArgs({
  options: { db: { type: "string" }, "rows-per-command": { type: "string", default: "1" }, "responses-only": { type: "boolean", default: false } },
});
const ROWS = Number(opt["rows-per-command"]);
if (!opt.db || (ROWS !== 1 && ROWS !== 3)) {
  process.stderr.write("usage: ceiling-server.mjs --db <file> [--rows-per-command 1|3] [--responses-only]\n");
  process.exit(2);
}
const EVENTS = !opt["responses-only"];

const db = new Database(opt.db);
db.pragma("journal_mode = WAL");
db.pragma("synchronous = FULL");
db.exec("CREATE TABLE IF NOT EXISTS journal (seq INTEGER PRIMARY KEY, lane TEXT NOT NULL, lane_seq INTEGER NOT NULL, command_id TEXT NOT NULL, phase TEXT NOT NULL, recorded_at INTEGER NOT NULL, body TEXT NOT NULL)");
const insert = db.prepare("INSERT INTO journal (seq, lane, lane_seq, command_id, phase, recorded_at, body) VALUES (?, ?, ?, ?, ?, ?, ?)");
const append = db.transaction((entries) => {
  for (const e of entries) for (const r of e.rows) insert.run(r[0], r[1], r[2], r[3], r[4], r[5], r[6]);
});

const sessions = new Map(); // sessionId → { version, laneSeq }
const journal = { batches: 0, records: 0 };
let seq = 0;
let batch = []; // { conn, rows, frames } per frame received this turn, in arrival order

function event(type, c, laneKey, laneSequence, s, recordedAt, outcome) {
  const data = { commandId: c.id, commandType: c.type, sessionId: c.sessionId, dependsOn: [], idempotencyKey: c.idempotencyKey };
  if (outcome) (data.success = outcome.success), (data.sessionVersion = outcome.sessionVersion);
  data.laneKey = laneKey;
  data.laneSequence = laneSequence;
  data.seq = s;
  data.recordedAt = recordedAt;
  return JSON.stringify({ type, data });
}

const failure = (c, code, error) => JSON.stringify({ type: "response", id: c?.id, command: c?.type, success: false, error, code });

/** Run one command: its journal rows, each [seq, lane, lane_seq, command_id, phase, recorded_at, body] (none for a failure, which the bench never sends), and its frames. */
function run(c, raw) {
  const s = sessions.get(c.sessionId);
  if (c.type === "create_session" ? s !== undefined : s === undefined) return { rows: [], frames: [failure(c, s ? "session_exists" : "session_not_found", `session ${c.sessionId}`)] };
  const st = s ?? { version: 0, laneSeq: 0 };
  if (c.type === "create_session") sessions.set(c.sessionId, st);
  else st.version++;
  const lane = `session:${c.sessionId}`;
  const at = Date.now();
  const s0 = seq + 1;
  const l0 = st.laneSeq + 1;
  seq += 3;
  st.laneSeq += 3;
  const outcome = `{"success":true,"sessionVersion":${st.version}}`;
  const rows =
    ROWS === 3
      ? [[s0, lane, l0, c.id, "accepted", at, raw], [s0 + 1, lane, l0 + 1, c.id, "started", at, "{}"], [s0 + 2, lane, l0 + 2, c.id, "finished", at, outcome]]
      : [[s0, lane, l0, c.id, "command", at, `{"command":${raw},"outcome":${outcome}}`]]; // one row for seq s0 … s0+2
  const response =
    c.type === "set"
      ? JSON.stringify({ type: "response", id: c.id, command: c.type, success: true, sessionVersion: st.version })
      : JSON.stringify({ type: "response", id: c.id, command: c.type, success: true, data: { sessionId: c.sessionId }, sessionVersion: st.version });
  if (!EVENTS) return { rows, frames: [response] };
  const done = { success: true, sessionVersion: st.version };
  return { rows, frames: [event("command_accepted", c, lane, l0, s0, at), event("command_started", c, lane, l0 + 1, s0 + 1, at), event("command_finished", c, lane, l0 + 2, s0 + 2, at, done), response] };
}

function receive(conn, data) {
  const raw = data.toString();
  let c;
  try {
    c = JSON.parse(raw);
  } catch {
    c = null;
  }
  let entry;
  if (c === null || typeof c !== "object") entry = { rows: [], frames: [failure(null, "invalid_command", "not a JSON object")] };
  else if (c.type === "health_check") entry = { rows: [], frames: [JSON.stringify({ type: "response", id: c.id, command: c.type, success: true, data: { journal } })] };
  else if (c.type === "set" || c.type === "create_session") entry = run(c, raw);
  else entry = { rows: [], frames: [failure(c, "unknown_command", `unknown command ${c.type}`)] };
  entry.conn = conn;
  if (batch.push(entry) === 1) setImmediate(commit);
}

/** Group commit: one transaction (one fsync) for every command of the turn, then their frames. */
function commit() {
  const entries = batch;
  batch = [];
  let rows = 0;
  for (const e of entries) rows += e.rows.length;
  if (rows > 0) {
    append(entries);
    journal.batches++;
    journal.records += rows;
  }
  for (const e of entries) write(e.conn, e.frames);
}

const corked = [];
function write(conn, frames) {
  if (conn.ws.readyState !== 1) return;
  if (!conn.corked) {
    conn.corked = true;
    conn.socket.cork();
    if (corked.push(conn) === 1) process.nextTick(uncorkAll);
  }
  for (const f of frames) conn.ws.send(f);
}
function uncorkAll() {
  for (const conn of corked) {
    conn.corked = false;
    conn.socket.uncork();
  }
  corked.length = 0;
}

const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false });
wss.on("listening", () => process.stdout.write(`${wss.address().port}\n`));
wss.on("connection", (ws, req) => {
  const conn = { ws, socket: req.socket, corked: false };
  ws.on("message", (data) => receive(conn, data));
});
process.on("SIGTERM", () => {
  db.close();
  process.exit(0);
});
