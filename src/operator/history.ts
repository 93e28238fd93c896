/**
 * History commands: get_command_history, get_command. They read committed journal
 * tables on the writer connection (src/journal/queries.ts holds the SQL) and never write.
 *
 * get_command_history answers both kinds of client: pi-server's shape (journal status,
 * `filters`, `entries` = one per journal row, `returned`, `truncated`, `maxItemsReturned`,
 * `maxItemsAllowed`) and causeway's (`items` = one per command, `nextCursor`, `count`). `limit`
 * bounds both: at most `limit` commands in `items`, and at most `limit` journal rows of those
 * commands in `entries`.
 */
import { journalStatus, type JournalStatus } from "../journal/open.js";
import { HISTORY_STATUSES, HistoryCursorError, type HistoryOrder, type HistoryPage, type HistoryRequest, type HistoryStatus } from "../journal/queries.js";
import type { JournalQueries } from "../journal/types.js";
import { failure, success } from "../protocol/frames.js";
import type { Outcome } from "../protocol/types.js";
import type { Viewer } from "../engine/publisher.js";
import type { OperatorCommand, OperatorServices } from "./operator-command.js";

/** Page size when the request has no `limit` (capped by limits.historyPageMax). */
export const DEFAULT_HISTORY_LIMIT = 100;

const text = { type: "string", minLength: 1, maxLength: 1024 };
const epochMs = { type: "integer", minimum: 0 };

/** pi-server's request filters, echoed in `filters` (absent ones left out). */
const PI_SERVER_FILTERS = ["sessionIdFilter", "commandId", "fromTimestamp", "toTimestamp"] as const;

/** The response data: pi-server's fields, then causeway's page. */
function historyData(journal: JournalQueries, env: Record<string, unknown>, q: HistoryRequest, page: HistoryPage, status: JournalStatus, max: number): Record<string, unknown> {
  const filters: Record<string, unknown> = {};
  for (const k of PI_SERVER_FILTERS) if (env[k] !== undefined) filters[k] = env[k];
  const commandIds = page.items.map((i) => i.commandId);
  const { sessionId, fromTimestamp, toTimestamp, limit } = q;
  const { entries, more } = journal.historyEntries({ commandIds, sessionId, fromTimestamp, toTimestamp, order: q.order ?? "newest", limit });
  return {
    ...status,
    filters,
    entries,
    returned: entries.length,
    truncated: more || page.nextCursor !== undefined,
    maxItemsReturned: q.limit,
    maxItemsAllowed: max,
    ...page,
  };
}

/**
 * Read visibility (with authentication): only the items the viewer may read stay, so a page may
 * hold fewer than `limit` items while `nextCursor` still goes on; entries follow the items kept.
 */
function visiblePage(page: HistoryPage, viewer: Viewer, s: OperatorServices): HistoryPage {
  const items = page.items.filter((i) => s.engine.mayRead(viewer, i.sessionId, i.actor));
  return items.length === page.items.length ? page : { ...page, items, count: items.length };
}

function readFailure(command: string, err: unknown): Outcome {
  const msg = err instanceof Error ? err.message : String(err);
  return failure(command, "journal_unavailable", `the journal could not be read: ${msg}`);
}

export const HISTORY_COMMANDS: OperatorCommand[] = [
  {
    type: "get_command_history",
    sessionId: "none",
    params: {
      type: "object",
      properties: {
        sessionIdFilter: text,
        commandId: text,
        fromTimestamp: epochMs,
        toTimestamp: epochMs,
        limit: { type: "integer", minimum: 1 },
        commandType: text,
        status: { enum: [...HISTORY_STATUSES] },
        actor: text,
        laneKey: text,
        pendingReason: { enum: ["approval", "schedule"] },
        approver: text,
        tag: text,
        order: { enum: ["newest", "oldest"] },
        cursor: { type: "string", minLength: 1, maxLength: 512 },
      },
    },
    handle({ env, actor, roles }, s) {
      const max = s.config.limits.historyPageMax;
      const limit = (env.limit as number | undefined) ?? Math.min(DEFAULT_HISTORY_LIMIT, max);
      if (limit > max) return failure(env.type, "invalid_command", `limit must be at most ${max} (historyPageMax)`);
      try {
        const q: HistoryRequest = {
          sessionId: env.sessionIdFilter as string | undefined,
          commandId: env.commandId as string | undefined,
          fromTimestamp: env.fromTimestamp as number | undefined,
          toTimestamp: env.toTimestamp as number | undefined,
          type: env.commandType as string | undefined,
          status: env.status as HistoryStatus | undefined,
          actor: env.actor as string | undefined,
          laneKey: env.laneKey as string | undefined,
          pendingReason: env.pendingReason as string | undefined,
          approver: env.approver as string | undefined,
          tag: env.tag as string | undefined,
          order: env.order as HistoryOrder | undefined,
          cursor: env.cursor as string | undefined,
          limit,
        };
        const page = visiblePage(s.store.history(q), { actor, roles }, s);
        return success(env.type, historyData(s.store, env, q, page, journalStatus(s.store), max));
      } catch (err) {
        if (err instanceof HistoryCursorError) return failure(env.type, "invalid_command", err.message);
        return readFailure(env.type, err);
      }
    },
  },
  {
    type: "get_command",
    sessionId: "none",
    params: {
      type: "object",
      properties: { commandId: text },
      required: ["commandId"],
    },
    handle({ env, actor, roles }, s) {
      const commandId = env.commandId as string;
      try {
        const detail = s.store.commandDetail(commandId, { maxRows: s.config.limits.historyPageMax });
        // a command the asking actor may not read is not there for it (read visibility)
        if (!detail || !s.engine.mayRead({ actor, roles }, detail.command.sessionId, detail.command.actor)) return success(env.type, { found: false, commandId });
        // in flight: what the engine holds now (a dependency wait is pending without a journal row)
        const live = s.engine.command(commandId);
        return success(env.type, { found: true, ...detail, ...(live ? { live } : {}) });
      } catch (err) {
        return readFailure(env.type, err);
      }
    },
  },
];
