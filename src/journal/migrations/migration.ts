/** One numbered schema migration. Once released it is frozen: never edit it, add a new one. */
import type Database from "better-sqlite3";

export interface Migration {
  version: number;
  description: string;
  up(db: Database.Database): void;
}
