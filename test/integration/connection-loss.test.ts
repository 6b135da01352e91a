import { describe, expect, it } from "bun:test";
import { join } from "node:path";
import { freshPostgresDatabase, hasPostgres } from "../support/harness";
import { finished } from "../support/processes";

// postgres.js (3.4.9) buffers small writes for the next tick; when the session was terminated meanwhile, that
// write used to throw from a timer callback, outside any query's promise: an uncaught exception that stopped
// every instance of the service at once when PostgreSQL dropped its sessions (found by the crash hammer's
// pg_terminate_backend). patches/postgres@3.4.9.patch makes it fail the query instead.
describe.skipIf(!hasPostgres)("a database session terminated under a transaction", () => {
  it("fails that transaction with an error and the process lives on with a reconnected pool", async () => {
    const databaseUrl = await freshPostgresDatabase();
    const proc = Bun.spawn(["bun", join(import.meta.dir, "../support/fixtures/terminated-transaction.ts")], {
      env: { ...process.env, DATABASE_URL: databaseUrl },
      stdout: "pipe",
      stderr: "pipe",
    });
    const { stdout, stderr, exitCode } = await finished(proc);
    expect({ exitCode, stderr: exitCode === 0 ? "" : stderr }).toEqual({ exitCode: 0, stderr: "" });
    const seen = JSON.parse(stdout.trim().split("\n").at(-1)!);
    expect(seen.insideTransaction).not.toBe("no error");
    expect(seen.after).toBe(42);
  });
});
