/**
 * Issue #6 (Level 5) bad-input fuzzing: BAD_FRAMES (default 100,000) seeded bad frames over stdio
 * (plus BAD_WS_FRAMES, default 5,000, over one WebSocket to a `--strict` server): malformed JSON,
 * wrong types, huge strings, deep nesting, unknown fields and types, invalid UTF-8,
 * boundary-length ids, ifSessionVersion where it is not supported, overflowing numbers, lone
 * surrogates (invalid UTF-8 is answered on text and binary WebSocket frames alike). Each frame gets exactly one
 * failure response with the stable code its class must get, its string `id` echoed and the
 * `command` pi-server answers ("unknown" when the frame has no usable type); frames the lenient
 * envelope admits (unknown fields, a repeated dependency, `dependsOn: []` without an id) fail in
 * their lane; the server stays up; valid commands work afterwards; its memory stays within the
 * stated bound.
 *
 * Replay: BAD_SEED=<seed> npx vitest run test/assurance/bad-input.test.ts
 *
 * Memory bound (stated): after the run the server's RSS is at most MEM_BOUND_MB (default 128 MB)
 * above its RSS after warm-up, and its peak RSS (VmHWM) stays under MEM_PEAK_MB (default 400 MB).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ERROR_CODES } from "../../src/protocol/errors.js";
import { badFrames, type BadFrame } from "../model/bad-input.js";
import { Peer } from "../model/harness.js";
import { spawnServer, spawnStdio, tempDir } from "../helpers/spawn.js";

const seed = Number(process.env.BAD_SEED ?? Date.now() % 1_000_000);
const COUNT = Number(process.env.BAD_FRAMES ?? 100_000);
const WS_COUNT = Number(process.env.BAD_WS_FRAMES ?? 5_000);
const LIMITS = { maxFrameBytes: 4096, maxJsonDepth: 64, maxIdLength: 256 };
const MEM_BOUND_MB = Number(process.env.MEM_BOUND_MB ?? 128);
const MEM_PEAK_MB = Number(process.env.MEM_PEAK_MB ?? 400);
const REPLAY = `BAD_SEED=${seed} npx vitest run test/assurance/bad-input.test.ts`;
console.log(`bad-input seed ${seed} (replay: ${REPLAY})`);

function memory(pid: number): { rssMb: number; peakMb: number } {
  const s = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (k: string): number => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)?.[1] ?? 0);
  return { rssMb: kb("VmRSS") / 1024, peakMb: kb("VmHWM") / 1024 };
}

type Frame = Record<string, any>;

/** Anonymous responses of admitted frames: they fail in their lane (refusals never get this code). */
const laneFailure = (r: Frame): boolean => r.code === "session_not_found";

/**
 * Match responses to frames: by id where the frame has a string one (echoed whatever is wrong
 * with it), else in order (refusals are answered at once, in order; an admitted frame without an
 * id is answered from its lane, so those are matched among themselves).
 */
function judge(frames: BadFrame[], responses: Frame[]): string[] {
  const problems: string[] = [];
  const byId = new Map<string, Frame[]>();
  const anonymous: Frame[] = [];
  const anonymousAdmitted: Frame[] = [];
  for (const r of responses) {
    if (r.type !== "response") continue;
    if (typeof r.id === "string") byId.set(r.id, [...(byId.get(r.id) ?? []), r]);
    else if (laneFailure(r)) anonymousAdmitted.push(r);
    else anonymous.push(r);
  }
  let a = 0;
  let aa = 0;
  const codes = new Set<string>(ERROR_CODES);
  for (const [i, f] of frames.entries()) {
    const r = f.id !== undefined ? byId.get(f.id)?.shift() : f.admitted ? anonymousAdmitted[aa++] : anonymous[a++];
    const where = `frame #${i} (${f.kind}): ${f.bytes.toString("utf8").slice(0, 120)}`;
    if (!r) problems.push(`${where}: no response`);
    else if (r.success !== false || !codes.has(r.code) || !f.codes.includes(r.code) || r.command !== f.command) {
      problems.push(`${where}: got ${JSON.stringify(r).slice(0, 300)}, expected a failure of command ${JSON.stringify(f.command)} with ${f.codes.join("|")}`);
    }
  }
  if (a !== anonymous.length || aa !== anonymousAdmitted.length) problems.push(`${anonymous.length - a + anonymousAdmitted.length - aa} responses without an id beyond the frames that had none`);
  for (const [id, l] of byId) if (l.length > 0) problems.push(`${l.length} extra response(s) for id ${id.slice(0, 60)}`);
  return problems;
}

/** Is every admitted frame answered? (they fail in their lanes, after their journal rows) */
function allAnswered(frames: BadFrame[], responses: Frame[]): boolean {
  const ids = new Set(responses.filter((r) => r.type === "response" && typeof r.id === "string").map((r) => r.id as string));
  const anonymous = responses.filter((r) => r.type === "response" && typeof r.id !== "string" && laneFailure(r)).length;
  return frames.every((f) => !f.admitted || f.id === undefined || ids.has(f.id)) && anonymous >= frames.filter((f) => f.admitted && f.id === undefined).length;
}

const limitArgs = ["--max-frame-bytes", String(LIMITS.maxFrameBytes)];

describe("bad-input fuzzing", () => {
  it(`stdio: ${COUNT} bad frames each get their failure code; the server stays up and bounded`, async () => {
    const frames = badFrames(seed, COUNT, LIMITS);
    const server = spawnStdio({ db: join(tempDir("causeway-bad-"), "j.db"), commands: false, args: [...limitArgs, "--log-level", "warn"] });
    try {
      await server.waitFor((f) => f.type === "server_ready");
      // warm-up, then the baseline
      expect((await server.request({ type: "create_session", id: "warm", sessionId: "warm" })).success).toBe(true);
      const before = memory(server.proc.pid!);
      // frames split into chunks at random byte boundaries, LF or CRLF, with empty lines between
      const stdin = server.proc.stdin!;
      let chunk: Buffer[] = [];
      let size = 0;
      const flush = async (): Promise<void> => {
        if (size === 0) return;
        const buf = Buffer.concat(chunk);
        chunk = [];
        size = 0;
        if (!stdin.write(buf)) await new Promise((r) => stdin.once("drain", r));
      };
      for (const [i, f] of frames.entries()) {
        chunk.push(f.bytes, Buffer.from(i % 7 === 0 ? "\r\n" : i % 11 === 0 ? "\n\n" : "\n"));
        size += f.bytes.length + 2;
        if (size > 64 * 1024) await flush();
      }
      await flush();
      // a valid command after the flood is answered after every bad frame was
      const after = await server.request({ type: "set", id: "after-set", sessionId: "warm", path: "/ok", value: "✓" });
      expect(after).toMatchObject({ success: true, sessionVersion: 1 });
      const got = await server.request({ type: "get_state", id: "after-get", sessionId: "warm" });
      expect(got.data).toEqual({ state: { ok: "✓" } });
      // every admitted frame is answered too (from its lane)
      const mine = (): Frame[] => server.frames.filter((f) => f.type === "response" && f.id !== "warm" && f.id !== "after-set" && f.id !== "after-get");
      await server.waitFor(() => allAnswered(frames, mine()), 60_000);
      const responses = server.frames.filter((f) => f.type === "response" && f.id !== "warm" && f.id !== "after-set" && f.id !== "after-get");
      const problems = judge(frames, responses);
      if (problems.length > 0) console.error(`bad-input: ${problems.length} problem(s); ${REPLAY}\n${problems.slice(0, 20).join("\n")}`);
      expect(problems.slice(0, 20), REPLAY).toEqual([]);
      const mem = memory(server.proc.pid!);
      const kinds = new Map<string, number>();
      for (const f of frames) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
      console.log(
        `bad-input stdio: ${frames.length} frames (${kinds.size} kinds), ${responses.length} responses; server RSS ${before.rssMb.toFixed(0)} MB → ${mem.rssMb.toFixed(0)} MB, peak ${mem.peakMb.toFixed(0)} MB`,
      );
      expect(mem.rssMb - before.rssMb, `RSS growth (bound ${MEM_BOUND_MB} MB); ${REPLAY}`).toBeLessThanOrEqual(MEM_BOUND_MB);
      expect(mem.peakMb, `peak RSS (bound ${MEM_PEAK_MB} MB)`).toBeLessThanOrEqual(MEM_PEAK_MB);
      server.end();
      expect((await server.exited).code).toBe(0);
    } finally {
      if (server.proc.exitCode === null) server.proc.kill("SIGKILL");
    }
  }, 300_000);

  it(`websocket, --strict: ${WS_COUNT} bad frames (text and binary) each get their failure code; oversize closes with 1009; invalid UTF-8 text is answered`, async () => {
    // --strict: unknown top-level fields are refused here (the stdio run ignores them)
    const frames = badFrames(seed + 1, WS_COUNT, { ...LIMITS, strict: true }, `w${seed}`);
    const server = await spawnServer({ db: join(tempDir("causeway-badws-"), "j.db"), commands: false, args: [...limitArgs, "--strict", "--ws-max-payload-bytes", String(64 * 1024)] });
    try {
      const p = await Peer.connect(server.url);
      // every fifth frame binary, the rest text (invalid UTF-8 included: answered, not closed)
      frames.forEach((f, i) => p.ws.send(f.bytes, { binary: i % 5 === 0 }));
      const done = await p.request({ type: "list_sessions", id: "ws-after" }, 60_000);
      expect(done.success).toBe(true);
      if (!allAnswered(frames, p.frames)) await p.next(() => allAnswered(frames, p.frames), 60_000);
      const problems = judge(frames, p.frames.filter((f) => f.type === "response" && f.id !== "ws-after"));
      expect(problems.slice(0, 20), REPLAY).toEqual([]);
      expect(p.open).toBe(true);

      // documented close: a frame above wsMaxPayloadBytes closes the socket with 1009
      const big = await Peer.connect(server.url);
      big.send("x".repeat(64 * 1024 + 1));
      expect(await big.closed).toBe(1009);
      // invalid UTF-8 in a *text* frame: answered with invalid_command like any bad frame, the
      // socket stays open (issue #15.11; ws would close it with 1007, RFC 6455 §8.1)
      const bad = await Peer.connect(server.url);
      const answer = bad.next((f) => f.type === "response");
      bad.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false });
      expect(await answer).toMatchObject({ success: false, code: "invalid_command", command: "unknown" });
      expect((await bad.request({ type: "list_sessions", id: "bad-after" })).success).toBe(true);
      await bad.close();
      // the server and the first connection are still fine
      expect((await p.request({ type: "create_session", id: "ws-create", sessionId: "after" })).success).toBe(true);
      await p.close();
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  }, 180_000);

  it("#14 default limits: maxFrameBytes 10 MiB (a 5 MiB frame is a command, an 11 MiB one payload_too_large on an open socket), wsMaxPayloadBytes 16 MiB", async () => {
    const server = await spawnServer({ db: join(tempDir("causeway-badlim-"), "j.db"), commands: false });
    try {
      const p = await Peer.connect(server.url);
      const ready = p.frames.find((f) => f.type === "server_ready") ?? (await p.next((f) => f.type === "server_ready"));
      expect(ready.data.limits.maxFrameBytes).toBe(10 * 1024 * 1024);
      expect((await p.request({ type: "create_session", id: "lim-create", sessionId: "lim" })).success).toBe(true);
      // a 5 MiB frame (its padding an ignored unknown field: the state stays under maxStateBytes)
      const five = await p.request({ type: "set", id: "lim-5m", sessionId: "lim", path: "/big", value: 1, pad: "x".repeat(5 * 1024 * 1024) }, 60_000);
      expect(five).toMatchObject({ success: true, sessionVersion: 1 });
      p.send(JSON.stringify({ type: "set", id: "lim-11m", sessionId: "lim", path: "/big", value: "y".repeat(11 * 1024 * 1024) }));
      const eleven = await p.next((f) => f.type === "response" && f.code === "payload_too_large", 60_000);
      expect(eleven).toMatchObject({ success: false, command: "unknown" });
      expect((await p.request({ type: "get_state", id: "lim-after", sessionId: "lim" }, 60_000)).sessionVersion).toBe(1);
      const big = await Peer.connect(server.url);
      big.send("z".repeat(16 * 1024 * 1024 + 1));
      expect(await big.closed).toBe(1009);
      expect(p.open).toBe(true);
      await p.close();
    } finally {
      expect((await server.stop()).code).toBe(0);
    }
  }, 120_000);
});
