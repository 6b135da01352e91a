import type { PGlite } from "@electric-sql/pglite";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import type { Sql } from "postgres";
import type { Database, DatabaseHandle } from "../../src/infra/db/client";
import * as schema from "../../src/infra/db/schema";

/**
 * The same database over the same driver client, with every statement counted: how tests prove that a
 * read is one query, not one per row. Closing it leaves the shared client open.
 */
export function countingDatabase(base: DatabaseHandle) {
  let statements = 0;
  const logger = { logQuery: () => void statements++ };
  const client = (base.db as unknown as { $client: unknown }).$client;
  const db = (base.kind === "embedded"
    ? drizzlePglite({ client: client as PGlite, schema, casing: "snake_case", logger })
    : drizzlePostgres({ client: client as Sql, schema, casing: "snake_case", logger })) as unknown as Database;
  const database: DatabaseHandle = {
    db,
    kind: base.kind,
    migrate: () => base.migrate(),
    ping: () => base.ping(),
    close: async () => {},
  };
  return {
    database,
    /** Statements run by the work, and its result. */
    async count<T>(work: () => Promise<T>): Promise<{ statements: number; result: T }> {
      const before = statements;
      const result = await work();
      return { statements: statements - before, result };
    },
  };
}
