import type { CommandDefinition } from "../define.js";
import { createSession, deleteSession, listSessions } from "./session-commands.js";
import { getState, patchState, setValue } from "./state.js";

export const BUILTIN_COMMANDS: CommandDefinition[] = [createSession, deleteSession, listSessions, getState, setValue, patchState];
