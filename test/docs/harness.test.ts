/**
 * The doc-example harness itself (issue #19): the comparator must be strict enough that drift fails
 * (a changed value, a missing or extra key, a number that became a string, an extra line), yet
 * blind to what changes every run (times, ids, durations, key order, table padding); the block
 * parsers must find every command, output line and expected exit code.
 */
import { describe, expect, it } from "vitest";
import { lineMatches, linesMatch } from "./harness/compare.js";
import { looksLikeExample, parseAnnotation, scanMarkdown } from "./harness/markdown.js";
import { parsePattern } from "./harness/pattern.js";
import { parseCliSteps, parseServerCommand, parseWsSteps } from "./harness/steps.js";

describe("#19 doc examples: comparator", () => {
  it("#19 JSON lines compare structurally: key order and spacing do not matter, every key and value does", () => {
    const printed = '{"type":"response","id":"t2","command":"set","success":true,"data":{"path":"/g"},"sessionVersion":1}';
    expect(lineMatches('{"id":"t2", "type":"response","command":"set","success":true,"data":{"path":"/g"},"sessionVersion":1}', printed)).toBe(true);
    expect(lineMatches('{"type":"response","id":"t2","command":"set","success":true,"data":{"path":"/g"},"sessionVersion":2}', printed)).toBe(false);
    expect(lineMatches('{"type":"response","id":"t2","command":"set","success":true,"data":{"path":"/g"}}', printed)).toBe(false);
    expect(lineMatches('{"type":"response","id":"t2","command":"set","success":true,"data":{"path":"/g"},"sessionVersion":1,"replayed":true}', printed)).toBe(false);
    expect(lineMatches('{"type":"response","id":"t2","command":"set","success":true,"data":{"path":"/g"},"sessionVersion":"1"}', printed)).toBe(false);
  });

  it("#19 times, UUIDs, digests and durations are normalised, but a time that changes type is drift", () => {
    const doc = '{"id":"c-67332ce1-9eee-4310-8a5e-f049e93addac","createdAt":1796188538147,"at":"2026-12-02T05:15:38.147Z","uptimeMs":3004,"v":"sha256:' + "a".repeat(64) + '"}';
    const run = '{"id":"c-0e956b62-749f-4e0c-a361-6958619764b5","createdAt":1800000000000,"at":"2027-01-01T00:00:00.000Z","uptimeMs":12,"v":"sha256:' + "b".repeat(64) + '"}';
    expect(lineMatches(doc, run)).toBe(true);
    expect(lineMatches(doc, run.replace("1800000000000", '"2027-01-01T00:00:00.000Z"'))).toBe(false);
    expect(lineMatches(doc, run.replace('"c-0e956b62', '"x-0e956b62'))).toBe(false);
    expect(lineMatches("server      causeway 0.1.0, up 4.2s", "server causeway 0.1.0, up 3m20s")).toBe(true);
    expect(lineMatches("read: 22 rows, 27 ms", "read:   22 rows, 3 ms")).toBe(true);
    expect(lineMatches("read: 22 rows, 27 ms", "read: 23 rows, 3 ms")).toBe(false);
  });

  it("#19 … elides explicitly: an object's other members, a value, an array tail, a run of characters, any lines", () => {
    const printed = '{"type":"server_ready","data":{"serverVersion":"0.1.0","limits":{"maxTags":16},"transports":["stdio","x"]}}';
    expect(lineMatches('{"type":"server_ready","data":{"serverVersion":"0.1.0",…}}', printed)).toBe(true);
    expect(lineMatches('{"type":"server_ready","data":{"serverVersion":"0.2.0",…}}', printed)).toBe(false);
    expect(lineMatches('{"type":"server_ready","data":{"serverVersion":"0.1.0","limits":…,"transports":["stdio",…]}}', printed)).toBe(true);
    expect(lineMatches('{"type":"server_ready","data":{"serverVersion":"0.…","limits":{…},"transports":[…]}}', printed)).toBe(true);
    expect(lineMatches('{"type":"server_ready","data":{"serverVersion":"0.…","limits":{},"transports":[…]}}', printed)).toBe(false);
    expect(lineMatches("in use by pid … on host … (since …)", "in use by pid 42 on host h (since 2026-01-01T00:00:00.000Z)")).toBe(true);
    expect(linesMatch(["a", "…", "d"], ["a", "b", "c", "d"])).toBe(true);
    expect(linesMatch(["a", "…", "d"], ["a", "b", "c"])).toBe(false);
    expect(linesMatch(["a", "b"], ["a", "b", "c"])).toBe(false);
    expect(() => parsePattern('{"a":1,…,"b":2}')).toThrow(/must come last/);
    expect(() => parsePattern('{"a":1')).toThrow();
  });
});

describe("#19 doc examples: block parsing", () => {
  it("#19 cli blocks: commands (continued with \\ or a heredoc), #> output lines, comments, and exit N in a trailing comment", () => {
    const steps = parseCliSteps([
      "# a comment",
      "printf '%s\\n' 'a' \\",
      "  | cat   # exit 3",
      "#> a",
      "#>",
      "cat > f <<JSON",
      "{ }",
      "JSON",
      "npx causeway send '{\"type\":\"x#1\"}'    # exits 2: not a command",
    ]);
    expect(steps.map((s) => [s.input, s.expectedExit, s.expected])).toEqual([
      ["printf '%s\\n' 'a' \\\n  | cat   # exit 3", 3, ["a", ""]],
      ["cat > f <<JSON\n{ }\nJSON", 0, []],
      ["npx causeway send '{\"type\":\"x#1\"}'    # exits 2: not a command", 2, []],
    ]);
    expect(() => parseCliSteps(["#> orphan"])).toThrow(/before any command/);
  });

  it("#19 ws and server blocks", () => {
    const ws = parseWsSteps(["< {\"type\":\"server_ready\"}", "> {\"id\":\"a\"}", "< {\"id\":\"a\"}"]);
    expect(ws.map((s) => [s.input, s.expected])).toEqual([["", ['{"type":"server_ready"}']], ['{"id":"a"}', ['{"id":"a"}']]]);
    expect(() => parseWsSteps(["{}"])).toThrow(/starts with/);
    expect(parseServerCommand(["npm start -- --policy-file p.json   # comment"])).toEqual({ args: ["--policy-file", "p.json"], docPort: 3141 });
    expect(parseServerCommand(["npx causeway serve --host 0.0.0.0 --port 3142 --db x.db"])).toEqual({ args: ["--db", "x.db"], docPort: 3142 });
    expect(() => parseServerCommand(["causeway serve"])).toThrow(/npm start/);
    expect(() => parseServerCommand(["npx causeway serve --stdio"])).toThrow(/cli block/);
  });

  it("#19 annotations, and which unannotated blocks count as examples", () => {
    expect(parseAnnotation("cli session=tour no-server")).toEqual({ kind: "cli", session: "tour", noServer: true });
    expect(parseAnnotation("file counter.mjs session=tour")).toEqual({ kind: "file", arg: "counter.mjs", session: "tour", noServer: false });
    expect(parseAnnotation("not-run (a shape)")).toEqual({ kind: "not-run", noServer: true, arg: "a shape" });
    expect(() => parseAnnotation("not-run")).toThrow(/reason/);
    expect(() => parseAnnotation("shell")).toThrow(/unknown example kind/);
    const md = ["# T", "```ts", "const a = 1;", "```", "", "```", '{"type":"response"}', "```", "<!-- example: not-run (why) -->", "```sh", "ls", "```", "````", "```sh", "````"].join("\n");
    const blocks = scanMarkdown("x.md", md);
    expect(blocks.map((b) => [b.line, looksLikeExample(b), b.annotation?.kind])).toEqual([
      [2, false, undefined],
      [6, true, undefined],
      [10, true, "not-run"],
      [13, true, undefined],
    ]);
  });
});
