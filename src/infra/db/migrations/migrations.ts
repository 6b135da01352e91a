import { type MigrationMeta, readMigrationFiles } from "drizzle-orm/migrator";
import type { PgDatabase, PgDialect, PgQueryResultHKT, PgSession } from "drizzle-orm/pg-core";
import { committedMigrations } from "./committed-migrations" with { type: "macro" };

/** drizzle/ as it was when this program was transpiled or compiled (see committed-migrations.ts). */
const BUILT_IN: MigrationMeta[] = committedMigrations();

/** The migrations to apply: those built into the program, or a drizzle-kit folder's when one is named. */
export function loadMigrations(folder?: string): MigrationMeta[] {
  return folder ? readMigrationFiles({ migrationsFolder: folder }) : BUILT_IN;
}

/**
 * What drizzle's `migrate(db, { migrationsFolder })` does once it has read the folder, for migrations that come
 * from anywhere: the dialect's migrator creates `drizzle.__drizzle_migrations` and applies, in one transaction,
 * every migration newer than the last one recorded. `dialect` and `session` are public at run time; drizzle's
 * types only mark them internal, which is why this goes through a cast.
 */
export async function applyMigrations(
  db: PgDatabase<PgQueryResultHKT, any>,
  migrations: MigrationMeta[],
): Promise<void> {
  const { dialect, session } = db as unknown as { dialect: PgDialect; session: PgSession };
  await dialect.migrate(migrations, session, { migrationsFolder: "(built in)" });
}
