/**
 * #17 writes cost what they change, end to end through the engine and a real journal file: session
 * writes are journaled as patches (with whole-state snapshots by the snapshot rule), the sessions
 * table keeps a checkpoint, and restart, the audit and the materialized tables rebuild the same
 * states. Replay a failure with FC_SEED=<seed>.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { openAuditDatabase, runAudit } from "../../src/audit/index.js";
import { BUILTIN_COMMANDS } from "../../src/commands/builtin/index.js";
import { defineCommand } from "../../src/commands/define.js";
import { CommandRegistry } from "../../src/commands/registry.js";
import { RETENTION_SCHEMA_SQL } from "../../src/journal/migrations/index.js";
import { clampCut, compact } from "../../src/journal/retention.js";
import { startInProc, type InProc } from "../helpers/inproc.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

/** A user handler that changes its draft in place: push, delete, nested assignment, splice. */
const mutate = defineCommand<{ key: string; value: unknown; drop?: string }>({
  type: "mutate",
  scope: "session",
  effect: "write",
  deterministic: true,
  run(ctx, { key, value, drop }) {
    const s = ctx.state as Record<string, any>;
    (s.log ??= []).push(value);
    if (s.log.length > 4) s.log.splice(1, 1);
    if (drop !== undefined) delete s[drop];
    (s.nested ??= {})[key] = { value, at: s.log.length };
    return { size: s.log.length };
  },
});

/** A user handler that replaces its state (ctx.state = … and replaceState), keeping part of the old one. */
const rebuild = defineCommand<{ mode: "assign" | "replace"; value: unknown }>({
  type: "rebuild",
  scope: "session",
  effect: "write",
  deterministic: true,
  run(ctx, { mode, value }) {
    const old = ctx.state as Record<string, unknown>;
    const next = { kept: old.nested ?? null, value, pad: old.pad ?? null };
    if (mode === "assign") ctx.state = next;
    else ctx.replaceState(next);
  },
});

const COMMANDS = [mutate, rebuild];
const SESSIONS = ["a", "b"];
const PAD = "p".repeat(600);

const value = fc.oneof(fc.integer(), fc.string({ maxLength: 8 }), fc.constantFrom("é€😀", null, true), fc.array(fc.integer(), { maxLength: 3 }));
const step = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), s: fc.constantFrom(...SESSIONS), path: fc.constantFrom("/x", "/y/z", "/list", "/nested/k", "/pad"), value }),
  fc.record({ kind: fc.constant("patch" as const), s: fc.constantFrom(...SESSIONS), value }),
  fc.record({ kind: fc.constant("mutate" as const), s: fc.constantFrom(...SESSIONS), key: fc.constantFrom("k", "m", "~/"), value, drop: fc.option(fc.constantFrom("x", "y", "pad"), { nil: undefined }) }),
  fc.record({ kind: fc.constant("rebuild" as const), s: fc.constantFrom(...SESSIONS), mode: fc.constantFrom("assign" as const, "replace" as const), value }),
  fc.record({ kind: fc.constant("recreate" as const), s: fc.constantFrom(...SESSIONS) }),
  fc.record({ kind: fc.constant("restart" as const) }),
);
type Step = typeof step extends fc.Arbitrary<infer T> ? T : never;

function registry(): CommandRegistry {
  const r = new CommandRegistry();
  for (const d of [...BUILTIN_COMMANDS, ...COMMANDS]) r.register(d);
  return r;
}

async function states(server: InProc): Promise<Record<string, unknown>> {
  const c = server.connect();
  const out: Record<string, unknown> = {};
  for (const s of SESSIONS) {
    const r = await c.request({ type: "get_state", sessionId: s });
    out[s] = r.success ? { state: r.data.state, version: r.sessionVersion } : null;
  }
  c.close();
  return out;
}

let n = 0;
async function run(server: InProc, st: Step): Promise<void> {
  const c = server.connect();
  const id = `c${++n}`;
  if (st.kind === "set") await c.request({ type: "set", id, sessionId: st.s, path: st.path, value: st.value });
  else if (st.kind === "patch") await c.request({ type: "patch", id, sessionId: st.s, ops: [{ op: "add", path: "/list", value: [st.value] }, { op: "add", path: "/list/0", value: 1 }, { op: "remove", path: "/list/1" }] });
  else if (st.kind === "mutate") await c.request({ type: "mutate", id, sessionId: st.s, key: st.key, value: st.value, ...(st.drop ? { drop: st.drop } : {}) });
  else if (st.kind === "rebuild") await c.request({ type: "rebuild", id, sessionId: st.s, mode: st.mode, value: st.value });
  else if (st.kind === "recreate") {
    await c.request({ type: "delete_session", id: `${id}-del`, sessionId: st.s });
    await c.request({ type: "create_session", id, sessionId: st.s, state: { pad: PAD, n } });
  }
  c.close();
}

describe("#17 patches and snapshots through the engine", () => {
  it("#17 random set / patch / create / delete / in-place and replacing handlers, with restarts: the same states live, after restart and in the audit", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 40 }), async (steps) => {
        const db = join(mkdtempSync(join(tmpdir(), "causeway-patch-")), "journal.db");
        const config = { db, durability: "off" as const };
        let server = startInProc({ config, commands: COMMANDS });
        const c = server.connect();
        for (const s of SESSIONS) await c.request({ type: "create_session", id: `create-${s}`, sessionId: s, state: { pad: PAD } });
        c.close();
        try {
          for (const st of steps) {
            if (st.kind !== "restart") {
              await run(server, st);
              continue;
            }
            const live = await states(server);
            await server.stop();
            server = startInProc({ config, commands: COMMANDS });
            expect(await states(server)).toEqual(live);
          }
          const live = await states(server);
          await server.stop();
          server = startInProc({ config, commands: COMMANDS });
          expect(await states(server)).toEqual(live);
        } finally {
          await server.stop();
        }
        const adb = openAuditDatabase(db);
        try {
          const report = await runAudit(adb, db, registry());
          expect(report.violations).toEqual([]);
          expect(report.reexecution.mismatched ?? 0).toBe(0);
        } finally {
          adb.close();
        }
      }),
      { seed, numRuns: 12 },
    );
  }, 120_000);

  it("#17 a one-key set on a 100 KB document journals the change, not the document, and rewrites no state", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-patch-big-")), "journal.db");
    const server = startInProc({ config: { db, durability: "off" } });
    const c = server.connect();
    const doc = { items: Array.from({ length: 1_000 }, (_, i) => ({ i, name: `item-${String(i).padStart(4, "0")}`, tags: ["a", "b"], note: "x".repeat(50) })) };
    expect(JSON.stringify(doc).length).toBeGreaterThan(100_000);
    await c.request({ type: "create_session", id: "mk", sessionId: "big", state: doc });
    for (let i = 0; i < 20; i++) expect(await c.request({ type: "set", id: `s${i}`, sessionId: "big", path: "/counter", value: i })).toMatchObject({ success: true, sessionVersion: i + 1 });
    await server.stop();

    const raw = new Database(db, { readonly: true });
    try {
      const effects = raw.prepare("SELECT command_id, effect FROM journal WHERE phase = 'finished' AND command_id LIKE 's%' ORDER BY seq").all() as Array<{ command_id: string; effect: string }>;
      expect(effects).toHaveLength(20);
      for (const e of effects) {
        // ≤ 4 KB + 2 × the change (a one-key set: its op)
        expect(e.effect.length).toBeLessThan(4_096);
        expect(JSON.parse(e.effect)).toMatchObject({ kind: "patch", sessionId: "big" });
      }
      expect(JSON.parse(effects[0]!.effect)).toEqual({ kind: "patch", sessionId: "big", version: 1, ops: [{ op: "add", path: "/counter", value: 0 }] });
      // the checkpoint is the created document; the sessions row carries only the version
      const created = raw.prepare("SELECT lane_seq FROM journal WHERE command_id = 'mk' AND phase = 'finished'").get() as { lane_seq: number };
      expect(raw.prepare("SELECT version, lane_seq, length(state) > 100000 AS big FROM session_states WHERE session_id = 'big'").get()).toEqual({ version: 0, lane_seq: created.lane_seq, big: 1 });
      expect(raw.prepare("SELECT version FROM sessions WHERE session_id = 'big'").get()).toEqual({ version: 20 });
    } finally {
      raw.close();
    }
    // restart rebuilds the state from the checkpoint and the 20 patches
    const again = startInProc({ config: { db, durability: "off" } });
    const r = await again.connect().request({ type: "get_state", sessionId: "big" });
    expect(r).toMatchObject({ success: true, sessionVersion: 20, data: { state: { ...doc, counter: 19 } } });
    await again.stop();
  });

  it("#17 the snapshot rule: once the patches since the last whole state reach the state's size, the write is journaled whole", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-patch-snap-")), "journal.db");
    const server = startInProc({ config: { db, durability: "off" } });
    const c = server.connect();
    await c.request({ type: "create_session", id: "mk", sessionId: "s", state: { pad: "p".repeat(200) } });
    for (let i = 0; i < 40; i++) await c.request({ type: "set", id: `s${i}`, sessionId: "s", path: "/v", value: i });
    await server.stop();
    const raw = new Database(db, { readonly: true });
    try {
      const kinds = (raw.prepare("SELECT effect FROM journal WHERE phase = 'finished' AND command_id LIKE 's%' ORDER BY seq").all() as Array<{ effect: string }>).map((r) => JSON.parse(r.effect) as { kind: string; ops?: unknown; version: number });
      const snapshots = kinds.filter((k) => k.kind === "write");
      expect(snapshots.length).toBeGreaterThan(0);
      expect(kinds.filter((k) => k.kind === "patch").length).toBeGreaterThan(snapshots.length);
      // between two whole states, the patches stay below the state's size (~2× its size to rebuild)
      let since = 0;
      for (const k of kinds) {
        if (k.kind === "write") since = 0;
        else since += JSON.stringify(k.ops).length;
        expect(since).toBeLessThan(260);
      }
      const last = snapshots.at(-1)!;
      expect(raw.prepare("SELECT version FROM session_states WHERE session_id = 's'").get()).toEqual({ version: last.version });
    } finally {
      raw.close();
    }
  });

  it("#17 compaction that removes the patches after a session's checkpoint moves the checkpoint to the cut: restart and the audit rebuild the same state", async () => {
    const db = join(mkdtempSync(join(tmpdir(), "causeway-patch-compact-")), "journal.db");
    let server = startInProc({ config: { db, durability: "off" } });
    const c = server.connect();
    await c.request({ type: "create_session", id: "mk", sessionId: "s", state: { pad: "p".repeat(4_000) } });
    for (let i = 0; i < 60; i++) await c.request({ type: "set", id: `s${i}`, sessionId: "s", path: `/k${i % 7}`, value: i });
    const live = await c.request({ type: "get_state", sessionId: "s" });
    await server.stop();

    const raw = new Database(db);
    raw.exec(RETENTION_SCHEMA_SQL);
    const before = raw.prepare("SELECT version, lane_seq FROM session_states WHERE session_id = 's'").get() as { version: number; lane_seq: number };
    // every write so far was a patch: the checkpoint is the create
    expect(before.version).toBe(0);
    const cut = clampCut(raw, 100);
    await compact(raw, cut, 1_000, () => Date.now() + 10 * 86_400_000);
    const after = raw.prepare("SELECT version, lane_seq FROM session_states WHERE session_id = 's'").get() as { version: number; lane_seq: number };
    expect(after.version).toBeGreaterThan(0);
    expect((raw.prepare("SELECT min(lane_seq) AS m FROM journal WHERE lane = 'session:s'").get() as { m: number }).m).toBe(after.lane_seq + 1);
    raw.close();

    server = startInProc({ config: { db, durability: "off" } });
    expect(await server.connect().request({ type: "get_state", sessionId: "s" })).toMatchObject({ success: true, sessionVersion: 60, data: live.data });
    await server.stop();
    const adb = openAuditDatabase(db);
    try {
      expect((await runAudit(adb, db, registry())).violations).toEqual([]);
    } finally {
      adb.close();
    }
  });
});
