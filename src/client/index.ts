/** `causeway/client`: a typed client with safe retries by default (`connect`). */
export { connect, CausewayConnection } from "./connection.js";
export { ClientError, CommandFailedError, type ClientErrorCode } from "./errors.js";
export type { ConnectTarget, ConnectOptions, ReconnectOptions, SendOptions, EventsOptions, ClientState } from "./options.js";
export type {
  CausewayCommands,
  Command,
  CommandType,
  AnyCommand,
  UntypedCommand,
  Envelope,
  Response,
  SuccessResponse,
  FailureResponse,
  LifecycleEvent,
  ServerInfo,
  SessionInfo,
  HistoryItem,
  HistoryStatus,
  GovernanceDetail,
  LaneInfo,
  MetricsData,
  HealthData,
  HistogramSnapshot,
} from "./types.js";
