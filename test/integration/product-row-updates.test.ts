import { describe, expect, it } from "bun:test";
import { type SQL, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { DrizzleProductRepository } from "../../src/infra/db/repositories/product-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";
import { insertSeller, newProduct, saleOf, sellReserved } from "../support/products";

// A checkout updates its product's row twice: the reservation (order_place) and the sale (payment_complete). Each
// should be a heap-only (HOT) update: the new version on the row's own page and no new entry in any of the
// table's indexes, which takes both that no index covers a column the update changes and that the page has room
// (docs/checkout-performance.md, "The product row's updates made HOT"). Counted on the session's own statistics
// for the transaction (pg_stat_get_xact_tuples_*), so nothing else running on the server can move them.
const database = openTestDatabase();
const transactions = new Transactions(database.db, database.sessionIsolation);
const repository = new DrizzleProductRepository(transactions);
const sellerId = await insertSeller(database.db);

// The counters order_place's `reserved` sets, written out here so the test holds whichever statement carries them.
// The sale is payment_complete's own SQL (saleCtes) run on its own (saleOf).
const reservation = (id: string) => sql`update products set stock = stock - 1, reserved_stock = reserved_stock + 1,
  version = version + 1, updated_at = now() where id = ${id}`;
const sale = (id: string) => saleOf({ productId: id, quantity: 1 });

/** Runs `update` in a transaction of its own and says how many rows of `table` it updated, and how many HOT. */
async function updatesOf(update: SQL, table = "products") {
  return database.db.transaction(async (tx) => {
    // The session's counts not yet reported add up over its transactions: read before and after, on its connection.
    const counts = async () => {
      const [row] = rowsOf<{ updated: string | number; hot: string | number }>(
        await tx.execute(sql`select pg_stat_get_xact_tuples_updated(${table}::regclass) as updated,
          pg_stat_get_xact_tuples_hot_updated(${table}::regclass) as hot`),
      );
      return { updated: Number(row?.updated), hot: Number(row?.hot) };
    };
    const before = await counts();
    await tx.execute(update);
    const after = await counts();
    return { updated: after.updated - before.updated, hot: after.hot - before.hot };
  });
}

describe("a checkout's updates of its product's row", () => {
  it("reserves and sells without writing an index entry", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 100 }));
    expect(await updatesOf(reservation(id))).toEqual({ updated: 1, hot: 1 });
    expect(await updatesOf(sale(id))).toEqual({ updated: 1, hot: 1 });
  });

  it("keeps a product's first update on its page when the page was filled by new products", async () => {
    // One statement fills pages with new rows (as a seller's import or a seed would), then a row of one of them
    // is reserved: packed full (fillfactor 100) its new version had no room there.
    await database.db.execute(sql`insert into products (id, seller_id, name, brand, category, price, stock,
        units_stocked)
      select gen_random_uuid(), ${sellerId}, 'Packed Sneaker ' || n, 'Packbrand', 'packed', 10000, 50, 50
      from generate_series(1, 300) as n`);
    // A page holding nothing but them: the second they took (the first may be shared with earlier products).
    const [packed] = rowsOf<{ id: string }>(
      await database.db.execute(sql`select id from products where category = 'packed'
        and (ctid::text::point)[0] = (select min((ctid::text::point)[0]) + 1 from products where category = 'packed')
        limit 1`),
    );
    expect(await updatesOf(reservation(packed?.id as string))).toEqual({ updated: 1, hot: 1 });
  });
});

describe("a checkout's update of its day's sales", () => {
  it("adds to the product's row of the day without writing an index entry", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 100 }));
    await database.db.execute(sql`insert into product_sales_daily (sales_day, product_id, category, seller_id,
        quantity, sales_amount, order_lines, orders, seller_orders, category_orders, seller_category_orders)
      values ('2026-12-07', ${id}, 'test', ${sellerId}, 1, 100000, 1, 1, 1, 1, 1)`);
    // The counters sales_add's upsert adds to when the day's row is there.
    const added = sql`update product_sales_daily set quantity = quantity + 1, sales_amount = sales_amount + 100000,
        order_lines = order_lines + 1, orders = orders + 1, seller_orders = seller_orders + 1,
        category_orders = category_orders + 1, seller_category_orders = seller_category_orders + 1
      where sales_day = '2026-12-07' and product_id = ${id} and category = 'test'`;
    expect(await updatesOf(added, "product_sales_daily")).toEqual({ updated: 1, hot: 1 });
  });
});

describe("the popularity sort", () => {
  const popular = async (ids: string[]) =>
    (
      await repository.list({
        filter: { category: "ranked" },
        sort: "popular",
        limit: 10,
        offset: 0,
      })
    ).items
      .filter((product) => ids.includes(product.id))
      .map((product) => [product.name, product.soldQuantity]);

  it("follows the units sold as sales and refunds move them, and pages by its keyset", async () => {
    const [a, b, c] = [
      await repository.insert(newProduct(sellerId, { name: "Ranked A", category: "ranked", stock: 10 })),
      await repository.insert(newProduct(sellerId, { name: "Ranked B", category: "ranked", stock: 10 })),
      await repository.insert(newProduct(sellerId, { name: "Ranked C", category: "ranked", stock: 10 })),
    ] as const;
    const ids = [a.id, b.id, c.id];
    for (const [id, units] of [
      [a.id, 1],
      [b.id, 3],
    ] as const) {
      await repository.reserve({ productId: id, quantity: units });
      await sellReserved(database.db, { productId: id, quantity: units });
    }
    // Ties (none sold) by id, newest first, as before.
    expect(await popular(ids)).toEqual([
      ["Ranked B", 3],
      ["Ranked A", 1],
      ["Ranked C", 0],
    ]);
    // A refund in full takes its units off sold_quantity (here as the refund's stock movement does it).
    await database.db.execute(
      sql`update products set sold_quantity = sold_quantity - 3, stock = stock + 3 where id = ${b.id}`,
    );
    expect(await popular(ids)).toEqual([
      ["Ranked A", 1],
      [c.id > b.id ? "Ranked C" : "Ranked B", 0],
      [c.id > b.id ? "Ranked B" : "Ranked C", 0],
    ]);
    const after = await repository.list({
      filter: { category: "ranked" },
      sort: "popular",
      limit: 10,
      offset: 0,
      after: { key: 1, id: a.id },
    });
    expect(after.items.map((product) => product.id)).toEqual([b.id, c.id].sort().reverse());
    expect(after.total).toBe(3);
  });
});
