/**
 * Seeded bad-input frames, each with the failure it must get (PROTOCOL.md "Error codes" and
 * "Limits"): malformed JSON, non-objects, wrong types, unknown fields and types, huge strings,
 * deep nesting, invalid UTF-8, boundary-length ids, `ifSessionVersion` where it is not supported,
 * numbers that overflow to Infinity, lone surrogates.
 *
 * pi-server's envelope rules: a response to an invalid command echoes the frame's `id` whenever it
 * is a string (even an empty or over-long one); a frame that cannot be parsed into a typed command
 * answers `command: "unknown"`; unknown top-level fields are ignored (refused only with
 * `--strict`), so such a frame is admitted and fails in its lane; `dependsOn: []` needs no `id`
 * and a repeated dependency counts once.
 */
import { rng, type Rng } from "./rng.js";

export interface BadFrame {
  /** the frame's bytes, without the line terminator */
  bytes: Buffer;
  kind: string;
  /** the response's `id`: the frame's `id` whenever it is a string */
  id?: string;
  /** acceptable codes */
  codes: string[];
  /** the response's `command`: the frame's type, or "unknown" when it has no usable one */
  command: string;
  /** admitted: it fails in its lane (answered after its journal rows), not at the door */
  admitted?: boolean;
}

export interface BadInputLimits {
  maxFrameBytes: number;
  maxJsonDepth: number;
  maxIdLength: number;
  /** the server runs with `--strict`: unknown top-level fields are refused */
  strict?: boolean;
}

const INVALID = ["invalid_command"];
const UNKNOWN = "unknown";

export function badFrames(seed: number, count: number, limits: BadInputLimits, prefix = `b${seed}`): BadFrame[] {
  const r = rng(seed);
  const out: BadFrame[] = [];
  for (let i = 0; i < count; i++) out.push(one(r, i, limits, `${prefix}-${i}`));
  return out;
}

/** A frame that reaches a lane: it fails there with `code` (the session "s" never exists). */
const admitted = (bytes: Buffer, kind: string, command: string, code: string, id?: string): BadFrame => ({ bytes, kind, command, codes: [code], admitted: true, ...(id !== undefined ? { id } : {}) });

const text = (s: string): Buffer => Buffer.from(s, "utf8");

function one(r: Rng, i: number, L: BadInputLimits, id: string): BadFrame {
  const k = r.int(0, 25);
  switch (k) {
    case 0: {
      // malformed JSON: a valid frame cut short, or with junk
      const s = JSON.stringify({ type: "set", id, sessionId: "s", path: "/a", value: i });
      const cut = s.slice(0, r.int(1, s.length - 1));
      return { bytes: text(cut), kind: "truncated", codes: INVALID, command: UNKNOWN };
    }
    case 1:
      return { bytes: text(r.pick(["{", "}", "{]", "[1,", '{"type":', "nul", "tru", '{"a":1,}', "{'type':'set'}", '"unterminated', "{}}", "0x10", "NaN", "-", "1e999e1"])), kind: "junk", codes: INVALID, command: UNKNOWN };
    case 2:
      return { bytes: text(JSON.stringify(r.pick([[], [1, 2], 42, "set", null, true, 1.5, [{ type: "set" }]]))), kind: "not_object", codes: INVALID, command: UNKNOWN };
    case 3:
      return { bytes: text(JSON.stringify({ id })), kind: "missing_type", id, codes: INVALID, command: UNKNOWN };
    case 4:
      return { bytes: text(JSON.stringify({ type: r.pick([5, null, [], {}, true, ""]), id })), kind: "type_not_string", id, codes: INVALID, command: UNKNOWN };
    case 5: {
      const type = `no_such_${r.int(0, 9)}`;
      return { bytes: text(JSON.stringify({ type, id })), kind: "unknown_type", id, codes: ["unknown_command"], command: type };
    }
    case 6: {
      // wrong types of envelope fields
      const field = r.pick(["sessionId", "dependsOn", "ifSessionVersion", "idempotencyKey", "timeoutMs"]);
      const bad: Record<string, unknown[]> = {
        sessionId: [5, null, {}, [], "", "x".repeat(L.maxIdLength + 1)],
        dependsOn: ["a", 5, [5], Array.from({ length: 33 }, (_, j) => `d${j}`), [""], "repeated"],
        ifSessionVersion: [-1, 1.5, "3", null, {}],
        idempotencyKey: [5, "", "k".repeat(L.maxIdLength + 1), []],
        timeoutMs: [0, -5, 1.5, "10", 10 ** 12],
      };
      const v = r.pick(bad[field]!);
      // a repeated dependency counts once: valid, admitted, and the unknown dependency fails it
      if (v === "repeated") return admitted(text(JSON.stringify({ type: "set", id, sessionId: "s", path: "/a", value: 1, dependsOn: [`${id}-x`, `${id}-x`] })), "repeated_dependency", "set", "dependency_unknown", id);
      return { bytes: text(JSON.stringify({ type: "set", id, sessionId: "s", path: "/a", value: 1, [field]: v })), kind: `bad_${field}`, id, codes: INVALID, command: "set" };
    }
    case 7: {
      // wrong param types
      const cmd = r.pick([
        { type: "set", sessionId: "s", path: 5, value: 1 },
        { type: "set", sessionId: "s", path: "no-slash", value: 1 },
        { type: "set", sessionId: "s" },
        { type: "patch", sessionId: "s", ops: "x" },
        { type: "patch", sessionId: "s", ops: [{ op: "jump", path: "/a" }] },
        { type: "patch", sessionId: "s", ops: [{ op: "add" }] },
        { type: "create_session", sessionId: "has space" },
        { type: "create_session", sessionId: 7 },
        { type: "delete_session" },
        { type: "get_state" },
        { type: "subscribe", scope: "some" },
        { type: "get_command", commandId: 5 },
        { type: "get_command_history", limit: 0 },
      ]);
      return { bytes: text(JSON.stringify({ ...cmd, id })), kind: "bad_params", id, codes: INVALID, command: cmd.type };
    }
    case 8: {
      const bytes = text(JSON.stringify({ type: "get_state", id, sessionId: "s", [r.pick(["extra", "Type", "__proto__x", "data", "ID"])]: 1 }));
      return L.strict ? { bytes, kind: "unknown_field", id, codes: INVALID, command: "get_state" } : admitted(bytes, "unknown_field", "get_state", "session_not_found", id);
    }
    case 9: {
      // huge: a string that takes the frame over maxFrameBytes
      const pad = "x".repeat(L.maxFrameBytes + r.int(1, 2000));
      return { bytes: text(JSON.stringify({ type: "set", id, sessionId: "s", path: "/a", value: pad })), kind: "huge", codes: ["payload_too_large"], command: UNKNOWN };
    }
    case 10: {
      // big but under the limit, in an unknown field
      const pad = "é".repeat(r.int(100, Math.floor(L.maxFrameBytes / 4)));
      const bytes = text(JSON.stringify({ type: "get_state", id, sessionId: "s", junk: pad }));
      return L.strict ? { bytes, kind: "big_unknown_field", id, codes: INVALID, command: "get_state" } : admitted(bytes, "big_unknown_field", "get_state", "session_not_found", id);
    }
    case 11: {
      const depth = L.maxJsonDepth + r.int(1, 200);
      const open = r.chance(0.5) ? "[" : '{"a":';
      const close = open === "[" ? "]" : "}";
      return { bytes: text(`{"type":"set","id":"${id}","sessionId":"s","path":"/a","value":${open.repeat(depth)}1${close.repeat(depth)}}`), kind: "deep", codes: INVALID, command: UNKNOWN };
    }
    case 12: {
      // invalid UTF-8 inside the type: refused as a whole, the untouched id echoed (issue #15.11)
      const head = text(`{"id":"${id}","type":"set`);
      const junk = Buffer.from(r.pick([[0xff], [0xc3], [0xe2, 0x82], [0xf0, 0x9f, 0x98], [0xed, 0xa0, 0x80], [0xc0, 0xaf]]));
      const tail = text(`","sessionId":"s","path":"/a","value":1}`);
      return { bytes: Buffer.concat([head, junk, tail]), kind: "invalid_utf8_in_type", id, codes: INVALID, command: UNKNOWN };
    }
    case 13: {
      const junk = Buffer.from(Array.from({ length: r.int(1, 40) }, () => r.int(0x80, 0xff)));
      return { bytes: Buffer.concat([text("{"), junk]), kind: "invalid_utf8_junk", codes: INVALID, command: UNKNOWN };
    }
    case 14: {
      // boundary: an id one char too long: refused, and the response still echoes it
      const long = `${id}-`.padEnd(L.maxIdLength + 1, "x");
      return { bytes: text(JSON.stringify({ type: "get_state", id: long, sessionId: "s" })), kind: "id_too_long", id: long, codes: INVALID, command: "get_state" };
    }
    case 15: {
      // boundary: a 256-char id on a well-formed command for a session that does not exist: admitted, fails in its lane
      const long = `${id}-`.padEnd(L.maxIdLength, "y");
      return admitted(text(JSON.stringify({ type: "get_state", id: long, sessionId: `nosuch-${r.int(0, 3)}` })), "id_max_len_no_session", "get_state", "session_not_found", long);
    }
    case 16:
      return { bytes: text(JSON.stringify({ type: "get_state", id: "", sessionId: "s" })), kind: "empty_id", id: "", codes: INVALID, command: "get_state" };
    case 17:
      // the unknown field is ignored (refused with --strict); depending on itself is a cycle, refused at admission
      return { bytes: text(JSON.stringify({ type: "set", id, sessionId: "s", path: "/a", value: 1, dependsOn: [id], extra: true })), kind: "self_dep_unknown_field", id, codes: L.strict ? INVALID : ["dependency_cycle"], command: "set" };
    case 18:
      // dependsOn without id
      return { bytes: text(JSON.stringify({ type: "get_state", sessionId: "s", dependsOn: ["x"] })), kind: "depends_without_id", codes: INVALID, command: "get_state" };
    case 19:
      return { bytes: text(`{"type":"set","id":"${id}","id":"dup","sessionId":"s","path":"/a","value":1,}`), kind: "trailing_comma", codes: INVALID, command: UNKNOWN };
    case 20: {
      // control characters and lone surrogates escaped in JSON strings: valid JSON, bad session id
      return { bytes: text(JSON.stringify({ type: "create_session", id, sessionId: r.pick(["\u0000", "a\nb", "\ud800", "😀", "a/b"]) })), kind: "bad_session_chars", id, codes: INVALID, command: "create_session" };
    }
    case 21:
      // an empty dependsOn needs no id: admitted (answered without an id)
      return admitted(text(JSON.stringify({ type: "get_state", sessionId: "s", dependsOn: [] })), "empty_depends_without_id", "get_state", "session_not_found");
    case 22: {
      // ifSessionVersion on a command that cannot use it: refused at admission
      const cmd = r.pick([{ type: "create_session", sessionId: `v${i}` }, { type: "list_sessions" }, { type: "health_check" }, { type: "switch_session", sessionId: "s" }]);
      return { bytes: text(JSON.stringify({ ...cmd, id, ifSessionVersion: r.int(0, 3) })), kind: "ifv_unsupported", id, codes: INVALID, command: cmd.type };
    }
    case 23:
      return { bytes: text(JSON.stringify({ type: "set", id, sessionId: "s", path: "/a/__proto__/x", value: 1, ifSessionVersion: "0" })), kind: "bad_ifv_string", id, codes: INVALID, command: "set" };
    case 24: {
      // a number that overflows to Infinity, anywhere (issue #15.9): refused with the id
      const n = r.pick(["1e400", "-1e999", "[1,2e308]", '{"x":1E400}']);
      return { bytes: text(`{"type":"set","id":"${id}","sessionId":"s","path":"/a","value":${n}}`), kind: "overflow_number", id, codes: INVALID, command: "set" };
    }
    default:
      // a lone surrogate escaped in the id (issue #15.10): refused, and the id is not echoed
      return { bytes: text(`{"type":"get_state","id":"${id}\\ud800","sessionId":"s"}`), kind: "lone_surrogate_id", codes: INVALID, command: "get_state" };
  }
}
