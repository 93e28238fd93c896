/**
 * Issue #15.20: a synchronous infinite loop in a handler freezes the whole server (timeoutMs
 * cannot stop it, SIGTERM is never handled). With --trace-starts every handler runs only after its
 * `started` row is committed, so the journal names the culprit: after kill -9 the row is there,
 * and the restart's recovery marks the command interrupted. Real server (dist/), real SQLite file,
 * real kill -9; the frozen server is observed by reading its journal read-only from this process.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { CausewayClient } from "../helpers/ws-client.js";
import { HARDENING_COMMANDS, spawnServer, spawnStdio, tempDir, type Exit } from "../helpers/spawn.js";
import type { TransportKind } from "../helpers/transports.js";

interface Started {
  request(cmd: Record<string, unknown> & { id: string }): Promise<Record<string, unknown>>;
  send(cmd: Record<string, unknown>): void;
  kill9(): Promise<Exit>;
}

async function start(kind: TransportKind, db: string, args: string[]): Promise<Started> {
  if (kind === "stdio") {
    const s = spawnStdio({ db, commands: false, args });
    await s.waitFor((f) => f.type === "server_ready");
    return { request: (cmd) => s.request(cmd), send: (cmd) => s.send(cmd), kill9: () => (s.proc.kill("SIGKILL"), s.exited) };
  }
  const s = await spawnServer({ db, commands: false, args });
  const c = await CausewayClient.connect(s.url);
  return {
    request: async (cmd) => (await c.request(cmd)) as unknown as Record<string, unknown>,
    send: (cmd) => c.sendRaw(cmd),
    kill9: async () => {
      const exit = await s.stop("SIGKILL");
      await c.close();
      return exit;
    },
  };
}

/** Poll the journal (read-only, like `causeway audit`) until `commandId` has a `phase` row, within `timeoutMs`. */
async function journalRow(db: string, commandId: string, phase: string, timeoutMs = 15_000): Promise<{ seq: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const sql = new Database(db, { readonly: true, fileMustExist: true });
    try {
      const row = sql.prepare("SELECT seq FROM journal WHERE command_id = ? AND phase = ?").get(commandId, phase) as { seq: number } | undefined;
      if (row) return row;
    } finally {
      sql.close();
    }
    if (Date.now() > deadline) throw new Error(`no ${phase} row for ${commandId} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe.each<TransportKind>(["websocket", "stdio"])("--trace-starts over %s", (kind) => {
  it("#15.20 a deterministic handler stuck in a synchronous loop is named by the journal (started, never finished); after kill -9 the restart marks it interrupted", async () => {
    const db = join(tempDir(), "causeway.db");
    const frozen = await start(kind, db, ["--commands", HARDENING_COMMANDS, "--trace-starts"]);
    expect(await frozen.request({ type: "create_session", id: "c", sessionId: "s" })).toMatchObject({ success: true });
    frozen.send({ type: "spin", id: "stuck", sessionId: "s", timeoutMs: 1_000 });
    // the server is frozen from here on (no response, no event, no signal handler): only the
    // journal can tell. Without --trace-starts the loop starts before the started row commits.
    let started: { seq: number };
    try {
      started = await journalRow(db, "stuck", "started");
    } finally {
      // never leave a spinning process behind, whatever happened
      expect((await frozen.kill9()).signal).toBe("SIGKILL");
    }
    const sql = new Database(db, { readonly: true });
    const rows = sql.prepare("SELECT seq, phase FROM journal WHERE command_id = 'stuck' ORDER BY seq").all() as Array<{ seq: number; phase: string }>;
    sql.close();
    expect(rows).toEqual([{ seq: started.seq - 1, phase: "accepted" }, { seq: started.seq, phase: "started" }]);

    const restarted = await spawnServer({ db, commands: false, args: ["--commands", HARDENING_COMMANDS] });
    const c = await CausewayClient.connect(restarted.url);
    try {
      const summary = await c.waitFor((f) => f.type === "startup_recovery_summary");
      expect((summary.data as { interrupted: { ids: string[] } }).interrupted.ids).toEqual(["stuck"]);
      const detail = (await c.request({ type: "get_command", commandId: "stuck" })).data as Record<string, any>;
      expect(detail.command).toMatchObject({ status: "interrupted", outcome: { success: false, code: "interrupted", error: "server stopped while the command was running" } });
      expect(detail.trace.map((t: { phase: string }) => t.phase)).toEqual(["accepted", "started", "finished"]);
      // a retry by id replays the verdict; the session is usable
      expect(await c.request({ type: "spin", id: "stuck", sessionId: "s", timeoutMs: 1_000 })).toMatchObject({ replayed: true, code: "interrupted" });
      expect(await c.request({ type: "get_state", sessionId: "s" })).toMatchObject({ success: true, sessionVersion: 0 });
    } finally {
      await c.close();
      expect((await restarted.stop()).code).toBe(0);
    }
  });
});
