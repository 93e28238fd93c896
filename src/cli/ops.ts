/** The operator subcommands: send, history, tail, status (against a running server) and backup. */
import type { Command } from "commander";
import { registerBackupCommand } from "./backup.js";
import { registerHistoryCommand } from "./history.js";
import { registerSendCommand } from "./send.js";
import { registerStatusCommand } from "./status.js";
import { registerTailCommand } from "./tail.js";

export function registerOpsCommands(program: Command): void {
  registerSendCommand(program);
  registerHistoryCommand(program);
  registerTailCommand(program);
  registerStatusCommand(program);
  registerBackupCommand(program);
}
