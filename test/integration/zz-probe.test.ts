import { expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { SqlStatement } from "../../src/infra/db/statements";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";
const database = openTestDatabase();
const transactions = new Transactions(database.db, database.sessionIsolation);
const bad = new SqlStatement<{ n: number }>("probe_bad", transactions, ($) => sql`select 1 / ${$.n}::int as x`);
it("caught error then commit", async () => {
  const r = transactions.withTransaction(async () => {
    await bad.run({ n: 0 }).catch(() => "caught");
    return "ok";
  });
  let outcome: unknown;
  try { outcome = await r; } catch (e) { outcome = `threw ${(e as Error).message}`; }
  console.log("OUTCOME", outcome);
});
