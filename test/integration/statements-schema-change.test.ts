import { afterAll, describe, expect, it } from "bun:test";
import postgres from "postgres";
import { openDatabase } from "../../src/infra/db/client";
import { createTestApp, freshPostgresDatabase, hasPostgres, type TestApp } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// A statement built once is prepared on each pooled connection (statements.ts). A rolling deploy's migration may
// add a column to a table while older instances still run: a prepared statement whose result is `*` then fails
// in PostgreSQL ("cached plan must not change result type"), and inside a transaction postgres.js cannot retry
// it (the transaction is aborted). The checkout's statements name their columns, so they outlive such a change.
const migrationsDir = `${import.meta.dir}/../../drizzle`;

describe.skipIf(!hasPostgres)("statements built once across a column added by a migration", () => {
  let t: TestApp;
  let url: string;
  const closing: (() => Promise<void>)[] = [];
  afterAll(async () => {
    await t?.close();
    for (const close of closing) await close();
  });

  it("places and pays orders on a connection that prepared them before orders and payments gained a column", async () => {
    url = await freshPostgresDatabase();
    // One pooled connection: every statement below runs on the session that prepared it first.
    const database = openDatabase({ url, poolSize: 1, migrationsDir });
    await database.migrate();
    t = await createTestApp({ database });
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const first = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    await payOrder(t, buyer, first.id);

    const migration = postgres(url, { max: 1, onnotice: () => {} });
    closing.push(() => migration.end());
    await migration.unsafe("alter table orders add column later_column int");
    await migration.unsafe("alter table payments add column later_column int");

    const second = await t.post(
      "/api/v1/orders",
      { userId: buyer.user.id, items: [{ productId: shoe.id, quantity: 1 }] },
      { token: buyer.token },
    );
    expect(second.status).toBe(201);
    const paid = await payOrder(t, buyer, second.body.id);
    expect(paid.status).toBe("COMPLETED");
  });
});
