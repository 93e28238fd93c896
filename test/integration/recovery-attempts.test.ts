/**
 * Issue #15 item 19: a `retryable` command whose handler hangs used to be re-queued at every
 * restart, forever. Recovery counts its runs (its journaled `started` rows) and fails it
 * `interrupted` once restart recovery has re-run it maxRecoveryAttempts times. Real server, real
 * kill -9, the same SQLite file.
 */
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CausewayClient, type Frame } from "../helpers/ws-client.js";
import { spawnServer, tempDir, type SpawnedServer } from "../helpers/spawn.js";

interface Bucket {
  count: number;
  ids: string[];
}
interface Summary {
  lastSeq: number;
  unfinished: number;
  requeued: Bucket;
  interrupted: Bucket;
}

const MAX = 2;

async function boot(db: string): Promise<{ server: SpawnedServer; client: CausewayClient; summary: Summary }> {
  const server = await spawnServer({ db, args: ["--max-recovery-attempts", String(MAX)] });
  const client = await CausewayClient.connect(server.url);
  const summary = (await client.waitFor((f) => f.type === "startup_recovery_summary")).data as unknown as Summary;
  return { server, client, summary };
}

const startedOf = (id: string) => (f: Frame) => f.type === "command_started" && (f.data as { commandId?: string }).commandId === id;

async function kill(server: SpawnedServer, client: CausewayClient): Promise<void> {
  client.terminate();
  expect((await server.stop("SIGKILL")).signal).toBe("SIGKILL");
}

describe("#15.19 restart recovery of a hanging retryable command", () => {
  it(`#15.19 a hanging retryable command is re-run after at most maxRecoveryAttempts (${MAX}) restarts, then fails interrupted naming its attempts; the server serves on`, async () => {
    const db = join(tempDir("causeway-retry-"), "journal.db");
    let { server, client } = await boot(db);
    expect((await client.request({ type: "create_session", sessionId: "h" })).success).toBe(true);
    client.sendRaw({ type: "hang_retryable", id: "hang-1", sessionId: "h" });
    // its started row is committed before the event leaves (and before the handler runs)
    await client.waitFor(startedOf("hang-1"));
    await kill(server, client);

    for (let attempt = 1; attempt <= MAX; attempt++) {
      const b = await boot(db);
      ({ server, client } = b);
      expect(b.summary.requeued.ids, `restart ${attempt}`).toContain("hang-1");
      expect(b.summary.interrupted.ids).not.toContain("hang-1");
      // the re-run: its new started row is journaled after the recovery summary's lastSeq
      await client.request({ type: "subscribe", scope: "all", fromSeq: b.summary.lastSeq });
      await client.waitFor(startedOf("hang-1"));
      await kill(server, client);
    }

    const last = await boot(db);
    ({ server, client } = last);
    try {
      expect(last.summary.requeued.ids).not.toContain("hang-1");
      expect(last.summary.interrupted).toMatchObject({ count: 1, ids: ["hang-1"] });
      const detail = (await client.request({ type: "get_command", commandId: "hang-1" })).data;
      expect(detail.command.status).toBe("interrupted");
      expect(detail.command.outcome).toMatchObject({ success: false, code: "interrupted" });
      expect(detail.command.outcome.error).toContain(`started ${MAX + 1} times`);
      expect(detail.command.outcome.error).toContain(`maxRecoveryAttempts ${MAX}`);
      const phases = (detail.trace as Array<{ phase: string }>).map((t) => t.phase);
      expect(phases.filter((p) => p === "started")).toHaveLength(MAX + 1);
      expect(phases.filter((p) => p === "requeued")).toHaveLength(MAX);
      // a replay by id answers the stored verdict
      expect(await client.request({ type: "hang_retryable", id: "hang-1", sessionId: "h" })).toMatchObject({ replayed: true, code: "interrupted" });
      // its lane, and the server, serve other commands
      expect(await client.request({ type: "set", sessionId: "h", path: "/after", value: 1 })).toMatchObject({ success: true, sessionVersion: 1 });
      expect((await client.request({ type: "get_state", sessionId: "h" })).data).toEqual({ state: { after: 1 } });
    } finally {
      client.terminate();
      await server.stop();
    }
    // the verdict is final: the next boot has nothing to recover
    const again = await boot(db);
    expect(again.summary.unfinished).toBe(0);
    again.client.terminate();
    await again.server.stop();
  });
});
