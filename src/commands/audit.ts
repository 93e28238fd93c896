/** In-process, bounded journal audit (issue #4): audit_journal. */
import type { ImmediateCommand } from "./immediate.js";

export const AUDIT_COMMANDS: ImmediateCommand[] = [];
