/**
 * The retention scenario of the real-process tests (#4.7 on SQLite, #18.27 on Redis): the server
 * runs with `RETENTION_ARGS` (keep 50 commands, a compactor every 100 ms, batches of 100); a session
 * `s`, a write `keyed` with the live idempotency key `live-key`, then 300 writes `w0..w299`.
 */
import type { SpawnedServer } from "./spawn.js";
import { CausewayClient, type ClientResponse } from "./ws-client.js";

export const RETENTION_ARGS = ["--retention-max-commands", "50", "--retention-interval-ms", "100", "--retention-batch-rows", "100"];

/** Fill the journal; resolves once the background compactor logged a run that removed rows (no sleeps). */
export async function fillUntilCompacted(server: SpawnedServer): Promise<{ c: CausewayClient; keyed: ClientResponse }> {
  const c = await CausewayClient.connect(server.url);
  await c.request({ type: "create_session", sessionId: "s" });
  const keyed = await c.request({ type: "set", id: "keyed", sessionId: "s", path: "/k", value: "kept", idempotencyKey: "live-key" });
  for (let i = 0; i < 300; i++) await c.request({ type: "set", id: `w${i}`, sessionId: "s", path: "/n", value: i });
  await new Promise<void>((resolve) => {
    const check = (): void => {
      if (server.stderr.some((l) => l.includes("journal compacted"))) resolve();
      else server.proc.stderr!.once("data", () => setImmediate(check));
    };
    check();
  });
  return { c, keyed };
}
