/**
 * Differential property test: pipelined random commands against the engine give exactly the
 * responses a single-threaded model gives when it applies them in per-lane submission order.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { startInProc } from "../helpers/inproc.js";

const seed = Number(process.env.FC_SEED ?? Date.now());
console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed})`);

type Op =
  | { kind: "set"; s: number; key: string; value: number; ifv?: number }
  | { kind: "patch_test"; s: number; key: string; value: number }
  | { kind: "get"; s: number }
  | { kind: "dup"; of: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("set" as const), s: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom("a", "b"), value: fc.integer({ min: 0, max: 3 }), ifv: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }) }),
  fc.record({ kind: fc.constant("patch_test" as const), s: fc.integer({ min: 0, max: 2 }), key: fc.constantFrom("a", "b"), value: fc.integer({ min: 0, max: 3 }) }),
  fc.record({ kind: fc.constant("get" as const), s: fc.integer({ min: 0, max: 2 }) }),
  fc.record({ kind: fc.constant("dup" as const), of: fc.nat() }),
);

interface Expect {
  success: boolean;
  code?: string;
  sessionVersion: number;
  state?: Record<string, number>;
}

describe("engine vs single-threaded model", () => {
  it("pipelined commands match the model", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), async (ops) => {
        const server = startInProc();
        try {
          const c = server.connect();
          for (let i = 0; i < 3; i++) await c.request({ type: "create_session", sessionId: `m${i}` });
          const model = [0, 1, 2].map(() => ({ version: 0, state: {} as Record<string, number> }));
          const cmds: Array<Record<string, unknown>> = [];
          const expected: Expect[] = [];
          ops.forEach((op, i) => {
            if (op.kind === "dup") {
              if (cmds.length === 0) return;
              const j = op.of % cmds.length;
              cmds.push(cmds[j]!);
              expected.push(expected[j]!); // a duplicate id replays the original outcome
              return;
            }
            const m = model[op.s]!;
            const sid = `m${op.s}`;
            const id = `op${i}`;
            if (op.kind === "get") {
              cmds.push({ type: "get_state", id, sessionId: sid });
              expected.push({ success: true, sessionVersion: m.version, state: { ...m.state } });
            } else if (op.kind === "set") {
              const cmd: Record<string, unknown> = { type: "set", id, sessionId: sid, path: `/${op.key}`, value: op.value };
              if (op.ifv !== undefined) cmd.ifSessionVersion = op.ifv;
              cmds.push(cmd);
              if (op.ifv !== undefined && op.ifv !== m.version) expected.push({ success: false, code: "version_conflict", sessionVersion: m.version });
              else {
                m.state[op.key] = op.value;
                m.version++;
                expected.push({ success: true, sessionVersion: m.version });
              }
            } else {
              cmds.push({ type: "patch", id, sessionId: sid, ops: [{ op: "test", path: `/${op.key}`, value: op.value }, { op: "replace", path: `/${op.key}`, value: op.value + 1 }] });
              if (m.state[op.key] === op.value) {
                m.state[op.key] = op.value + 1;
                m.version++;
                expected.push({ success: true, sessionVersion: m.version });
              } else expected.push({ success: false, code: "patch_failed", sessionVersion: m.version });
            }
          });
          const responses = await Promise.all(cmds.map((cmd) => c.request(cmd)));
          responses.forEach((r, i) => {
            const e = expected[i]!;
            expect(r.success).toBe(e.success);
            expect(r.code).toBe(e.code);
            expect(r.sessionVersion).toBe(e.sessionVersion);
            if (e.state) expect(r.data.state).toEqual(e.state);
          });
          for (let i = 0; i < 3; i++) {
            const r = await c.request({ type: "get_state", sessionId: `m${i}` });
            expect(r.data.state).toEqual(model[i]!.state);
            expect(r.sessionVersion).toBe(model[i]!.version);
          }
        } finally {
          await server.stop();
        }
      }),
      { seed, numRuns: 60 },
    );
  });
});
