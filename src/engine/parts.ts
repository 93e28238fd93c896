/**
 * What the engine's parts share (admission, lane runner, pending commands, publication, drain,
 * startup recovery, journal failure): configuration, clock, log, and the in-memory tables. Built
 * once the journal is open, since the committer continues the journal's sequence numbers.
 */
import type { Logger } from "pino";
import type { CommandRegistry } from "../commands/registry.js";
import type { CausewayConfig } from "../config/defaults.js";
import type { Store } from "../journal/types.js";
import type { EngineObserver } from "../observability/observer.js";
import type { Committer } from "./committer.js";
import type { DependencyLimits } from "./dependency-limits.js";
import type { Governor } from "./governor.js";
import type { JobTable } from "./jobs.js";
import type { LaneSet } from "./lanes.js";
import type { Publisher } from "./publisher.js";
import type { Responder } from "./responder.js";
import type { SessionTable } from "./session-table.js";

export interface EngineParts {
  readonly config: CausewayConfig;
  readonly store: Store;
  readonly registry: CommandRegistry;
  readonly log: Logger;
  readonly now: () => number;
  readonly observer: EngineObserver;
  readonly jobs: JobTable;
  readonly lanes: LaneSet;
  readonly sessions: SessionTable;
  readonly publisher: Publisher;
  readonly responder: Responder;
  readonly committer: Committer;
  readonly dependencyLimits: DependencyLimits;
  /** this node's server lane: `server`, or `server@<node>` on a journal shared by several nodes */
  readonly serverLane: string;
  /** governance decisions (pure: the parts above apply them) */
  readonly governor: Governor;
}
