import { describe, expect, it } from "bun:test";
import postgres from "postgres";
import { openDatabase } from "../../src/infra/db/client";
import { whenDatabaseAnswers } from "../../src/infra/db/start-up-wait";
import { createLogger } from "../../src/infra/logger";
import { freshPostgresDatabase, hasPostgres } from "../support/harness";

// A starting process applies the migrations on a connection of its own. When PostgreSQL ended that session under it
// (a failover, a restart, sessions terminated: the crash hammer's pg_terminate_backend), the migration failed and
// closing its client then waited forever (postgres.js' end() without a timeout, after a lost session), so the start
// neither failed nor retried: the process hung before listening, and its supervisor saw it alive and never ready.
describe.skipIf(!hasPostgres)("migrations at start-up while the database ends their session", () => {
  it("fail and are applied again by the start-up wait, instead of hanging the start", async () => {
    const url = await freshPostgresDatabase();
    const name = new URL(url).pathname.slice(1);
    const admin = postgres(url, { max: 1, onnotice: () => {} });
    const database = openDatabase({ url, poolSize: 1 });
    let terminated = 0;
    let migrating = true;
    try {
      const applied = whenDatabaseAnswers("migrations", () => database.migrate(), createLogger("silent")).finally(
        () => {
          migrating = false;
        },
      );
      // The migration's session ended under it a few times while it runs.
      while (migrating && terminated < 3) {
        await Bun.sleep(150);
        const [row] = await admin<{ count: number }[]>`
          select count(pg_terminate_backend(pid))::int as count from pg_stat_activity
          where datname = ${name} and pid <> pg_backend_pid()`;
        terminated += row?.count ?? 0;
      }
      await applied;
      expect(terminated).toBeGreaterThan(0);
      const [done] = await admin<{ count: number }[]>`select count(*)::int as count from drizzle.__drizzle_migrations`;
      expect(done?.count).toBeGreaterThan(30);
    } finally {
      await database.close();
      await admin.end({ timeout: 5 });
    }
  }, 60_000);
});
