/**
 * One node's side of lane ownership on a shared Redis journal (lanes-script.ts has the rule;
 * docs/redis-store.md "Several nodes" the picture): which lanes this node owns, claiming a lane
 * (and reading what it resumes from once claimed), finding the lanes a dead node left behind, and
 * the mailbox for messages between nodes.
 */
import { lastJournalSeq, readLaneState, readRecoveredState, unfinishedLanes } from "../recover.js";
import type { SqliteStore } from "../sqlite-store.js";
import type { LaneClaim, LaneOwnership, RecoveredState, StoreLog } from "../types.js";
import type { RedisBridge } from "./bridge.js";
import type { Keyspace } from "./keyspace.js";
import type { ClaimReply } from "./lanes-script.js";
import { Mailbox } from "./mailbox.js";
import { isServerLane, serverLaneOf, sessionLane } from "../../lifecycle/lanes.js";

export interface NodeLanesDeps {
  bridge: RedisBridge;
  ks: Keyspace;
  node: string;
  /** this node's lease key and token */
  leaseKey: string;
  token: string;
  /** the projection, caught up by catchUp() */
  projection(): SqliteStore;
  catchUp(): void;
  /** why the node's lease is lost, or null while held */
  lost(): string | null;
  schemaVersion(): number;
}

export class NodeLanes implements LaneOwnership {
  readonly node: string;
  readonly serverLane: string;
  openedLanes: string[] = [];
  private readonly mine = new Set<string>();

  constructor(
    private readonly d: NodeLanesDeps,
    private readonly mailbox: Mailbox,
  ) {
    this.node = d.node;
    this.serverLane = serverLaneOf(d.node);
  }

  owns(lane: string): boolean {
    return this.mine.has(lane) && this.d.lost() === null;
  }

  claim(lane: string): LaneClaim {
    if (this.owns(lane)) return { kind: "owned" };
    const { bridge, ks, node, leaseKey, token } = this.d;
    const reply = bridge.script("laneClaim", [ks.owners, leaseKey, ks.prefix, lane, node, token]) as ClaimReply;
    switch (reply[0]) {
      case "lost":
        return { kind: "unavailable", why: this.d.lost() ?? `the lease of node ${node} was lost` };
      case "owned":
        this.mine.add(lane);
        return { kind: "owned" };
      case "other":
        return { kind: "other", node: reply[1], url: reply[2] === "" ? null : reply[2] };
      case "claimed": {
        this.mine.add(lane);
        // everything the lane's previous owner wrote is in the journal: read up to its end
        this.d.catchUp();
        const recovered = readLaneState(this.d.projection().database(), lane, this.d.schemaVersion());
        return { kind: "claimed", from: reply[1] === "" ? null : reply[1], recovered };
      }
    }
  }

  orphans(): string[] {
    if (this.d.lost() !== null) return [];
    this.d.catchUp();
    // another node's server lane stays its own: its restart resolves its server commands, and it
    // must find that lane free when it comes back
    const lanes = unfinishedLanes(this.d.projection().database()).filter((l) => !this.mine.has(l) && (!isServerLane(l) || l === this.serverLane));
    if (lanes.length === 0) return [];
    const { bridge, ks, node, token } = this.d;
    return bridge.script("laneOrphans", [ks.owners, ks.prefix, node, token, ...lanes]) as string[];
  }

  catchUp(): void {
    this.d.catchUp();
  }

  send(node: string, message: unknown, timeoutMs: number): Promise<unknown> {
    return this.mailbox.send(node, message, timeoutMs);
  }

  onMessage(handler: (message: unknown) => Promise<unknown>): void {
    this.mailbox.onMessage(handler);
  }
}

/**
 * Open a node on a shared journal: its mailbox; its own server lane and every lane a dead node left
 * with unfinished commands claimed; what the engine resumes: those lanes only (the others belong
 * to live nodes, and are claimed when a command for them arrives here).
 */
export function openNodeLanes(d: NodeLanesDeps, conn: { url: string; log?: StoreLog }, recovered: RecoveredState): { lanes: NodeLanes; mailbox: Mailbox; recovered: RecoveredState } {
  const mailbox = new Mailbox(conn.url, d.ks, d.node, conn.log);
  const lanes = new NodeLanes(d, mailbox);
  const opened = [lanes.serverLane, ...lanes.orphans()].filter((lane) => lanes.claim(lane).kind !== "other" && lanes.owns(lane));
  lanes.openedLanes = opened;
  const mine = new Set(opened);
  // read again only when claiming caught the projection up past what open() read
  const db = d.projection().database();
  const all = lastJournalSeq(db) === recovered.lastSeq ? recovered : readRecoveredState(db, d.schemaVersion());
  return {
    lanes,
    mailbox,
    recovered: {
      ...all,
      sessions: all.sessions.filter((x) => mine.has(sessionLane(x.sessionId))),
      unfinished: all.unfinished.filter((u) => mine.has(u.lane)),
      ...(recovered.staleLeaseTakenOver ? { staleLeaseTakenOver: recovered.staleLeaseTakenOver } : {}),
    },
  };
}
