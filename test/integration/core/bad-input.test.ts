/**
 * Issue #2 acceptance, driven against the real server process, over WebSocket on loopback and over
 * stdio (the same scenarios on both transports): bad frames answered with a stable code, the
 * connection left usable.
 */
import { describe, expect, it } from "vitest";
import type { TestClient, TransportKind } from "../../helpers/transports.js";
import { useCoreServer } from "./helpers.js";

describe.each<TransportKind>(["websocket", "stdio"])("over %s", (kind) => {
let client: TestClient;
useCoreServer(kind, (s) => (client = s.client));


describe("bad input", () => {
  const cases: Array<[string, string, string]> = [
    ["malformed JSON", '{"type": "get_state",', "invalid_command"],
    ["a non-object", "[1,2,3]", "invalid_command"],
    ["a bare number", "42", "invalid_command"],
    ["excessive depth", `{"type":"set","sessionId":"s","path":"/a","value":${"[".repeat(100)}${"]".repeat(100)}}`, "invalid_command"],
    ["wrong types", '{"type":"set","id":"wt","sessionId":"s","path":5,"value":1}', "invalid_command"],
    ["an unknown command", '{"type":"launch_rockets","id":"uc"}', "unknown_command"],
    ["33 dependsOn entries", JSON.stringify({ type: "get_state", id: "d33", sessionId: "s", dependsOn: Array.from({ length: 33 }, (_, i) => `d${i}`) }), "invalid_command"],
    ["dependsOn without id", JSON.stringify({ type: "get_state", sessionId: "s", dependsOn: ["a"] }), "invalid_command"],
    ["an over-long id", JSON.stringify({ type: "get_state", id: "x".repeat(257), sessionId: "s" }), "invalid_command"],
    ["an oversize frame", JSON.stringify({ type: "set", sessionId: "s", path: "/a", value: "x".repeat(70_000) }), "payload_too_large"],
  ];
  for (const [name, frame, code] of cases) {
    it(`answers ${name} with ${code} and stays usable`, async () => {
      const from = client.frames.length;
      client.sendRaw(frame);
      const r = await client.waitFor((f) => f.type === "response" && f.success === false, undefined, from);
      expect(r.code).toBe(code);
      expect(typeof r.error).toBe("string");
      expect((r.error as string).length).toBeGreaterThan(5);
      const h = await client.request({ type: "health_check" });
      expect(h.success).toBe(true);
      expect(client.usable()).toBe(true);
    });
  }
});
});
