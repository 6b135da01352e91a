import { describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { hasPostgres } from "../support/harness";
import { lineOf, orderPlacing, placeLines } from "../support/order-placing";
import { insertSeller, newProduct } from "../support/products";

// order_place reads its lines' products through the primary key, whatever the size of the catalogue. Joined on
// its `line` CTE alone (json_to_recordset, which the planner takes for 100 rows), PostgreSQL hashed the lines and
// read the whole products table, twice per order, so its CPU per order grew with the catalogue
// (docs/checkout-performance.md, "PostgreSQL's CPU per checkout"). Counted on the placing session's own table
// statistics for the transaction (pg_stat_xact_user_tables), so nothing else running on the server can move it.
describe.skipIf(!hasPostgres)("an order's reservation on a large catalogue", () => {
  const { database, transactions, orders, catalogue } = orderPlacing();

  it("reads its products by id, not by scanning every product", async () => {
    const seller = await insertSeller(database.db);
    const product = await catalogue.insert(newProduct(seller, { price: 10_000, stock: 100 }));
    await database.db.execute(sql`insert into products (id, seller_id, name, brand, category, price, stock,
        units_stocked)
      select gen_random_uuid(), ${seller}, 'Bulk Sneaker ' || n, 'Bulkbrand', 'bulk', 10000, 5, 5
      from generate_series(1, 5000) as n`);
    await database.db.execute(sql`analyze products`);

    // The session's counts not yet reported (they add up over its transactions until it reports them): read
    // before and after the statement, in its transaction, so both are on its connection.
    const seqScans = async () => {
      const [row] = rowsOf<{ seq_scan: string | number }>(
        await transactions.current.execute(
          sql`select seq_scan from pg_stat_xact_user_tables where relname = 'products'`,
        ),
      );
      return Number(row?.seq_scan ?? 0);
    };
    const placeOnce = () =>
      transactions.withTransaction(async () => {
        const before = await seqScans();
        const placed = await placeLines(orders, seller, [lineOf(product)]);
        return { placed: placed !== undefined, seqScans: (await seqScans()) - before };
      });

    // The first runs plan the statement for their values; from the sixth, PostgreSQL may keep a generic plan.
    const outcomes = [];
    for (let i = 0; i < 7; i++) outcomes.push(await placeOnce());
    expect(outcomes).toEqual(Array.from({ length: 7 }, () => ({ placed: true, seqScans: 0 })));
  });
});
