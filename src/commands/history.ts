/** History commands (issue #4): get_command_history, get_command. */
import type { ImmediateCommand } from "./immediate.js";

export const HISTORY_COMMANDS: ImmediateCommand[] = [];
