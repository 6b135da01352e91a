import { mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres, { type Sql } from "postgres";
import type { IsolationLevel } from "../../domain/shared/unit-of-work";
import { lockDataDir } from "./embedded/data-dir-lock";
import { embeddedEngine } from "./embedded/engine";
import { type EmbeddedCreation, type EmbeddedTemplate, findTemplate, prepareDataDir } from "./embedded/template";
import { applyMigrations, loadMigrations } from "./migrations/migrations";
import { makeDataDirPrivate } from "./private-data-dir";
import * as schema from "./schema";

export type Schema = typeof schema;
/** What both drivers share: repositories only ever see this type. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;
/** How drizzle names columns on both drivers (and in statements built once, statements.ts). */
export const CASING = "snake_case";

/** The rows of a raw `db.execute(sql…)`: postgres.js returns them as the result, PGlite inside `rows`. */
export function rowsOf<Row>(result: unknown): Row[] {
  return (Array.isArray(result) ? result : (result as { rows: Row[] }).rows) as Row[];
}

export interface DatabaseHandle {
  readonly db: Database;
  readonly kind: "postgres" | "embedded";
  /**
   * The isolation level every session of this handle starts its transactions at, pinned when it connects (so
   * no server setting can change it); a transaction at this level needs no SET TRANSACTION of its own.
   */
  readonly sessionIsolation?: IsolationLevel;
  /** Set when this opened a new embedded database in DATA_DIR: it is being made (see describeCreation). */
  readonly creation?: EmbeddedCreation;
  /**
   * postgres.js: connections of its own, outside the pool, for statements run for many requests at once (groups
   * of orders: Transactions.groupConnection), as many as groups can be in flight at once (groupConnections), so
   * no group ever queues behind another's lock wait. Undefined on PGlite (one connection: no grouping there).
   */
  readonly groupConnection?: Sql;
  /** Applies the drizzle-kit migrations; safe to call from several processes at once. */
  migrate(): Promise<void>;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  url?: string;
  poolSize: number;
  /** Folder of the embedded database; `undefined` keeps it in memory (tests). */
  dataDir?: string;
  /** A drizzle-kit migrations folder to apply instead of the migrations built into the program. */
  migrationsDir?: string;
  /** What a new embedded database in `dataDir` starts from: by default the binary's or `bun install`'s template. */
  template?: EmbeddedTemplate;
}

// Any constant works; it only has to be the same in every process of a deployment.
const MIGRATION_LOCK_ID = 0x6b69636b;

export function openDatabase(options: DatabaseOptions): DatabaseHandle {
  return options.url ? openPostgres(options.url, options) : openEmbedded(options);
}

/**
 * Limits for every pooled session, so nothing can hold a connection or a row lock indefinitely: a stuck
 * statement, a lock wait (a hot balance row) or a transaction left open by a hung request (the idle limit
 * matches the idempotency lease, after which a retry may take the request's key over).
 * Migrations use their own connection without these limits.
 */
const SESSION_LIMITS = {
  statement_timeout: 30_000,
  lock_timeout: 10_000,
  idle_in_transaction_session_timeout: 60_000,
  // A statement whose client is gone (its process died, its connection broke) is ended within a second, even while
  // it waits for a lock. A statement sent on its own commits by itself when it ends (a payment's start: its key,
  // its debit): without this it ran on and committed for a client that would never act on it, once the lock it
  // waited for was let go (test/e2e/idempotency-crash.test.ts). PostgreSQL 14+.
  client_connection_check_interval: 1_000,
};

/** Pinned for every pooled session: read-committed transactions then skip one round trip (see Transactions). */
const SESSION_ISOLATION: IsolationLevel = "read committed";

/**
 * How many group statements can be in flight at once: each group has two members at least, and each member waits
 * in its transaction, on a pooled connection. With that many connections a group's statement is sent at once,
 * never queued in the driver behind another group's (one waiting for a row lock held elsewhere, up to
 * lock_timeout): groups of different products never wait for each other.
 */
export const groupConnections = (poolSize: number) => Math.max(1, Math.floor(poolSize / 2));

function openPostgres(url: string, options: DatabaseOptions): DatabaseHandle {
  const client = postgres(url, {
    max: options.poolSize,
    onnotice: () => {},
    connection: { TimeZone: "UTC", ...SESSION_LIMITS, default_transaction_isolation: SESSION_ISOLATION },
  });
  const db = drizzlePostgres({ client, schema, casing: CASING }) as unknown as Database;
  // Connects on its first statement: a process that never groups never opens it.
  const groupConnection = postgres(url, {
    max: groupConnections(options.poolSize),
    onnotice: () => {},
    connection: { TimeZone: "UTC", ...SESSION_LIMITS, default_transaction_isolation: SESSION_ISOLATION },
  });
  // drizzle sets its client's json and date types to pass through untouched (its driver): the same here, so a
  // statement built once binds its parameters and reads its rows on this connection as on the pool's.
  drizzlePostgres({ client: groupConnection, casing: CASING });
  return {
    db,
    kind: "postgres",
    sessionIsolation: SESSION_ISOLATION,
    groupConnection,
    async migrate() {
      // One dedicated connection, so the advisory lock and the migration share a session.
      const migrationClient = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await migrationClient`select pg_advisory_lock(${MIGRATION_LOCK_ID})`;
        await applyMigrations(
          drizzlePostgres({ client: migrationClient, casing: CASING }),
          loadMigrations(options.migrationsDir),
        );
        await migrationClient`select pg_advisory_unlock(${MIGRATION_LOCK_ID})`;
      } finally {
        // With a timeout: after PostgreSQL ended the session under it, postgres.js' end() waited forever, and the
        // start hung instead of failing for whenDatabaseAnswers to run the migrations again.
        await migrationClient.end({ timeout: 5 });
      }
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      await Promise.all([client.end({ timeout: 5 }), groupConnection.end({ timeout: 5 })]);
    },
  };
}

function openEmbedded(options: DatabaseOptions): DatabaseHandle {
  const engine = embeddedEngine();
  const migrations = loadMigrations(options.migrationsDir);
  let dataDir: string | undefined;
  let prepared: ReturnType<typeof prepareDataDir> | undefined;
  let unlock = () => {};
  if (options.dataDir) {
    mkdirSync(options.dataDir, { recursive: true });
    unlock = lockDataDir(options.dataDir);
    dataDir = resolve(options.dataDir, "pglite");
    makeDataDirPrivate(dirname(dataDir));
    try {
      prepared = prepareDataDir(options.dataDir, dataDir, migrations, options.template ?? findTemplate(engine));
    } catch (error) {
      unlock();
      throw error;
    }
  }
  const client = new PGlite({ ...engine.options, dataDir });
  const db = drizzlePglite({ client, schema, casing: CASING }) as unknown as Database;
  return {
    db,
    kind: "embedded",
    creation: prepared?.creation,
    async migrate() {
      await applyMigrations(drizzlePglite({ client, casing: CASING }), migrations);
      prepared?.created();
    },
    async ping() {
      await db.execute(sql`select 1`);
    },
    async close() {
      try {
        await client.close();
      } finally {
        unlock();
      }
    },
  };
}
