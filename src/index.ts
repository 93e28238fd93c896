/** Public API: define commands, start a server, wire types. */
export { defineCommand } from "./commands/define.js";
export type { CommandDefinition, CommandContext, CommandScope, CommandEffect, ParamsSchema, SessionsApi } from "./commands/define.js";
export { CausewayError, ERROR_CODES, HANDLER_ERROR_CODES, type ErrorCode, type FailureCode } from "./protocol/errors.js";
export { PROTOCOL_VERSION } from "./protocol/types.js";
export type { CommandEnvelope, ResponseFrame, LifecycleEvent, LifecycleEventData, Outcome, ServerLimits } from "./protocol/types.js";
export { startServer, SERVER_VERSION, type RunningServer } from "./server/start.js";
export { DEFAULT_CONFIG, DEFAULT_LIMITS, type CausewayConfig } from "./config/defaults.js";
