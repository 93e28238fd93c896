/**
 * Lane names. A session's commands run in `session:<id>`; server commands in `server`, or, on a
 * journal shared by several nodes, in the node's own `server@<node>` (each node writes only lanes it
 * owns, and every node has server commands to run).
 */
export const SERVER_LANE = "server";
const NODE_SERVER_LANE = `${SERVER_LANE}@`;

export function sessionLane(sessionId: string): string {
  return `session:${sessionId}`;
}

/** The session a `session:<id>` lane belongs to (undefined for any other lane). */
export function sessionOfLane(lane: string): string | undefined {
  return lane.startsWith("session:") ? lane.slice("session:".length) : undefined;
}

/** The server lane of `node` (null: a journal with one node). */
export function serverLaneOf(node: string | null): string {
  return node === null ? SERVER_LANE : `${NODE_SERVER_LANE}${node}`;
}

/** Is `lane` a server lane (`server`, or a node's `server@<node>`)? */
export function isServerLane(lane: string): boolean {
  return lane === SERVER_LANE || nodeOfServerLane(lane) !== null;
}

/** The node whose server lane `lane` is (`server@<node>`), or null (another lane, or one node's plain `server`). */
export function nodeOfServerLane(lane: string): string | null {
  return lane.startsWith(NODE_SERVER_LANE) ? lane.slice(NODE_SERVER_LANE.length) : null;
}
