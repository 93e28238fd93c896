/**
 * Shared by the core scenario files in this folder (issue #2 acceptance, one file per feature, each
 * over WebSocket and stdio against the real server): the server flags, frame accessors, a fresh
 * session.
 */
import { afterAll, beforeAll, expect } from "vitest";
import type { Frame } from "../../helpers/ws-client.js";
import { startTransport, type TestClient, type TestServer, type TransportKind } from "../../helpers/transports.js";

/** Every core file starts its server with these: a 64 KiB frame limit, long dependency waits. */
export const CORE_SERVER_ARGS: readonly string[] = ["--max-frame-bytes", "65536", "--dependency-wait-ms", "20000"];

export type Data = Record<string, any>;
export const data = (f: Frame): Data => f.data as Data;
export const lifecycle = (c: TestClient, commandId: string): Frame[] =>
  c.frames.filter((f) => f.type.startsWith("command_") && data(f)?.commandId === commandId);

/** `newSession(c = the file's client)`: creates a session with a fresh id, asserts it succeeded, returns the id. */
export function sessionMaker(defaultClient: () => TestClient): (c?: TestClient) => Promise<string> {
  let sessionCounter = 0;
  return async (c = defaultClient()) => {
    const sessionId = `s${++sessionCounter}-${Date.now().toString(36)}`;
    const r = await c.request({ type: "create_session", sessionId });
    expect(r.success).toBe(true);
    return sessionId;
  };
}

/**
 * The file's server over `kind`, started before its tests with CORE_SERVER_ARGS and stopped after
 * them (exit code 0 asserted); `started` receives it. Returns the file's `newSession`.
 */
export function useCoreServer(kind: TransportKind, started: (server: TestServer) => void): (c?: TestClient) => Promise<string> {
  let server: TestServer | undefined;
  beforeAll(async () => {
    server = await startTransport(kind, { args: [...CORE_SERVER_ARGS] });
    started(server);
  });
  afterAll(async () => {
    const exit = await server?.stop();
    expect(exit?.code).toBe(0);
  });
  return sessionMaker(() => server!.client);
}
