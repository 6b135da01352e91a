import { describe, expect, it } from "bun:test";
import postgres from "postgres";
import { freshPostgresDatabase, hasPostgres } from "../support/harness";

// postgres.js (3.4.9) handed a query the idle connection that had been idle longest, so one request after another
// went round every connection a burst had opened, waking a different PostgreSQL backend each time: with the
// checkout's statements sent on their own, a sequential checkout cost PostgreSQL ~1.5 ms more CPU than on one warm
// backend (docs/checkout-performance.md, "The pool's idle connections"). patches/postgres@3.4.9.patch takes the one
// used last.
describe.skipIf(!hasPostgres)("a pool under light load after a burst", () => {
  it("sends one request after another to the connection used last, whether a query or a transaction", async () => {
    const sql = postgres(await freshPostgresDatabase(), { max: 4, onnotice: () => {} });
    try {
      // A burst opens every connection of the pool.
      const burst = await Promise.all(
        Array.from({ length: 4 }, () => sql`select pg_backend_pid() as pid, pg_sleep(0.05)`),
      );
      expect(new Set(burst.map(([row]) => row?.pid)).size).toBe(4);
      const pids = new Set<number>();
      for (let i = 0; i < 12; i++) {
        const [row] =
          i % 3 === 2
            ? await sql.begin((tx) => tx`select pg_backend_pid() as pid`)
            : await sql`select pg_backend_pid() as pid`;
        pids.add(row?.pid as number);
      }
      expect(pids.size).toBe(1);
    } finally {
      await sql.end();
    }
  });
});
