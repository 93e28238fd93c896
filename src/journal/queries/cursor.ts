/**
 * History cursors: an opaque base64url JSON body holding the `acceptedSeq` of a page's last item,
 * the order and a hash of the filters; a cursor sent with other filters or another order is refused.
 */
import { createHash } from "node:crypto";
import type { HistoryFilters, HistoryOrder } from "./types.js";

/** A cursor that is malformed or was issued for other filters / another order. */
export class HistoryCursorError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HistoryCursorError";
  }
}

interface CursorBody {
  v: 1;
  seq: number;
  order: HistoryOrder;
  f: string;
}

/** A short, stable hash of the filters a cursor belongs to (not the page size, not the order). */
export function filterHash(f: HistoryFilters): string {
  const canonical = JSON.stringify([
    f.sessionId ?? null,
    f.commandId ?? null,
    f.fromTimestamp ?? null,
    f.toTimestamp ?? null,
    f.type ?? null,
    f.status ?? null,
    f.actor ?? null,
    f.laneKey ?? null,
    ...(f.pendingReason !== undefined || f.approver !== undefined || f.tag !== undefined ? [f.pendingReason ?? null, f.approver ?? null, f.tag ?? null] : []),
  ]);
  return createHash("sha256").update(canonical).digest("base64url").slice(0, 16);
}

export function encodeCursor(seq: number, order: HistoryOrder, filters: HistoryFilters): string {
  const body: CursorBody = { v: 1, seq, order, f: filterHash(filters) };
  return Buffer.from(JSON.stringify(body), "utf8").toString("base64url");
}

export function decodeCursor(cursor: string, order: HistoryOrder, filters: HistoryFilters): number {
  let body: Partial<CursorBody> | null = null;
  if (/^[A-Za-z0-9_-]{1,512}$/.test(cursor)) {
    try {
      body = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as Partial<CursorBody>;
    } catch {
      body = null;
    }
  }
  if (
    !body ||
    typeof body !== "object" ||
    body.v !== 1 ||
    !Number.isSafeInteger(body.seq) ||
    (body.seq as number) < 0 ||
    (body.order !== "newest" && body.order !== "oldest") ||
    typeof body.f !== "string"
  ) {
    throw new HistoryCursorError("cursor is not a valid history cursor");
  }
  if (body.order !== order) {
    throw new HistoryCursorError(`cursor was issued for order "${body.order}", not "${order}"`);
  }
  if (body.f !== filterHash(filters)) {
    throw new HistoryCursorError("cursor was issued for different filters");
  }
  return body.seq as number;
}
