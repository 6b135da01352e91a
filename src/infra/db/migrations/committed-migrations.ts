// A Bun macro: imported `with { type: "macro" }`, this runs while Bun transpiles the importer (`bun src/index.ts`,
// `bun test`, `bun build --compile`) and its result is inlined as data. So whatever drizzle-kit generated into
// drizzle/ is part of the program, with no list to keep and no folder to ship beside the binary.
import { join } from "node:path";
import { type MigrationMeta, readMigrationFiles } from "drizzle-orm/migrator";

export const COMMITTED_MIGRATIONS_DIR = join(import.meta.dir, "../../../../drizzle");

/**
 * drizzle/ read exactly as drizzle's own `migrate()` reads a folder (statements, sha256 hash, journal time),
 * so `__drizzle_migrations` records the same rows whichever way a database was migrated.
 */
export function committedMigrations(): MigrationMeta[] {
  return readMigrationFiles({ migrationsFolder: COMMITTED_MIGRATIONS_DIR });
}
