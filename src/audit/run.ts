/**
 * Running an audit over a journal (its reads: journal/audit-reads.ts): resolve the window, stream
 * bounded pages through the checker, and build the report. Two drivers share everything else:
 * - runAudit (CLI, audit_journal on a file): async (async handlers are awaited), inside one read
 *   snapshot;
 * - runAuditSync (audit_journal on an in-memory journal): synchronous, on the server's own data,
 *   bounded by maxRows; a handler returning a promise is skipped.
 */
import type { CommandRegistry } from "../commands/registry.js";
import { DEFAULT_LIMITS } from "../config/defaults.js";
import type { AuditReads } from "../journal/audit-reads.js";
import { Auditor } from "./checker.js";
import { Findings } from "./findings.js";
import { withStoreChecks } from "./store-checks.js";
import type { AuditOptions, AuditReport, AuditWindow } from "./types.js";

const DEFAULT_PAGE = 2_000;

interface Plan {
  window: AuditWindow;
  auditor: Auditor;
  findings: Findings;
  total: number;
}

function plan(journal: AuditReads, registry: CommandRegistry, opts: AuditOptions, mode: "sync" | "async"): Plan {
  const bounds = journal.bounds();
  const checkpoint = journal.latestCheckpoint();
  const baselineSeq = checkpoint?.seq ?? 0;
  const after = Math.max(opts.fromSeq ?? 0, baselineSeq);
  const toSeq = opts.maxRows !== undefined ? Math.min(bounds.lastSeq, after + opts.maxRows) : bounds.lastSeq;
  const sessionId = opts.sessionId ?? null;
  const window: AuditWindow = {
    fromSeq: after,
    toSeq: Math.max(after, toSeq),
    lastSeq: bounds.lastSeq,
    firstRetainedSeq: baselineSeq + 1,
    sessionId,
    truncated: toSeq < bounds.lastSeq,
    complete: after === baselineSeq && sessionId === null,
  };
  const lag = journal.projectionLag?.() ?? null;
  if (lag) window.projectionCaughtUp = lag;
  const findings = new Findings(opts.maxViolations ?? 1_000);
  const auditor = new Auditor({
    journal,
    registry,
    findings,
    mode,
    maxSessions: opts.maxSessions ?? DEFAULT_LIMITS.maxSessions,
    afterSeq: after,
    baselineSeq,
    checkpoint,
    sessionId,
  });
  const total = opts.onProgress ? journal.countRows(after, window.toSeq, opts.sessionId) : 0;
  return { window, auditor, findings, total };
}

function report(p: Plan, path: string | null, started: number): AuditReport {
  const r = p.auditor.finish(!p.window.truncated);
  const f = p.findings;
  return {
    ok: f.total === 0,
    database: path,
    window: p.window,
    checkedRows: r.checkedRows,
    commands: r.commands,
    unfinished: r.unfinished,
    invariants: f.invariants,
    violations: f.violations,
    violationsTruncated: f.truncated,
    reexecution: f.reexecution,
    unverifiable: f.unverifiable,
    durationMs: Date.now() - started,
  };
}

/** The CLI audit: one read snapshot, pages of `pageSize` rows, async handlers awaited. */
export async function runAudit(journal: AuditReads, path: string | null, registry: CommandRegistry, opts: AuditOptions = {}): Promise<AuditReport> {
  const started = Date.now();
  return journal.withSnapshot(async () => {
    const p = plan(journal, registry, opts, "async");
    const pageSize = opts.pageSize ?? DEFAULT_PAGE;
    let cursor = p.window.fromSeq;
    let done = 0;
    for (;;) {
      const page = journal.readPage({ afterSeq: cursor, toSeq: p.window.toSeq, limit: pageSize, ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}) });
      if (page.length === 0) break;
      for (const r of page) {
        const pending = p.auditor.feed(r);
        if (pending) await pending;
      }
      cursor = page[page.length - 1]!.seq;
      done += page.length;
      opts.onProgress?.(done, p.total);
      if (page.length < pageSize) break;
      // let the progress bar draw and signals arrive between pages
      await new Promise((resolve) => setImmediate(resolve));
    }
    return withStoreChecks(report(p, path, started), opts.storeChecks ?? []);
  });
}

/**
 * The in-process audit (audit_journal): synchronous, so the journal cannot change under it; the
 * caller bounds it with maxRows. Handlers that return a promise are skipped ("async_handler").
 */
export function runAuditSync(journal: AuditReads, registry: CommandRegistry, opts: AuditOptions = {}): AuditReport {
  const started = Date.now();
  const p = plan(journal, registry, opts, "sync");
  const pageSize = opts.pageSize ?? DEFAULT_PAGE;
  let cursor = p.window.fromSeq;
  for (;;) {
    const page = journal.readPage({ afterSeq: cursor, toSeq: p.window.toSeq, limit: pageSize, ...(opts.sessionId !== undefined ? { sessionId: opts.sessionId } : {}) });
    if (page.length === 0) break;
    for (const r of page) {
      if (p.auditor.feed(r) instanceof Promise) throw new Error("internal: the synchronous audit produced a pending re-execution");
    }
    cursor = page[page.length - 1]!.seq;
    if (page.length < pageSize) break;
  }
  return report(p, null, started);
}
