import { describe, expect, it } from "bun:test";
import { eq } from "drizzle-orm";
import { products } from "../../src/infra/db/schema";
import { hasPostgres } from "../support/harness";
import { lineOf, orderPlacing, placeLines } from "../support/order-placing";
import { insertSeller, newProduct } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// order_place reserves every line or none. Its reservation's UPDATE filters rows by its WHERE on the statement's
// snapshot before it re-reads a row changed meanwhile (EvalPlanQual), while the statement's locking read sees
// the row as locked (its latest version). A product short in the snapshot and back in stock by the time its lock
// is granted (a cancel committed while the order waited) passes the locking read but not the UPDATE's scan: the
// other lines must not be reserved without it, in a transaction that has no savepoint to undo them.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("an order placed in one statement", () => {
  const { database, transactions, orders, catalogue } = orderPlacing();

  it("moves no line when one is short in the statement's snapshot and back in stock once locked", async () => {
    const seller = await insertSeller(database.db);
    const first = await catalogue.insert(newProduct(seller, { price: 10_000, stock: 5 }));
    const second = await catalogue.insert(newProduct(seller, { price: 20_000, stock: 0 }));
    // The statement locks in product-id order: the test holds the later row, the earlier is locked by then.
    const [early, late] = [first, second].sort((a, b) => (a.id < b.id ? -1 : 1)) as [typeof first, typeof first];
    if (early.stock === 0) {
      // Whichever id came first: the one held (the later) is the short one.
      await database.db.update(products).set({ stock: 5, unitsStocked: 5 }).where(eq(products.id, early.id));
      await database.db.update(products).set({ stock: 0, unitsStocked: 0 }).where(eq(products.id, late.id));
    }
    const items = [lineOf(early), lineOf(late)];

    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${late.id} for update`);
    let outcome: { placed: boolean; earlyStock: number | undefined };
    try {
      const placing = transactions.withTransaction(async () => {
        const placed = await placeLines(orders, seller, items);
        const [row] = await transactions.current
          .select({ stock: products.stock })
          .from(products)
          .where(eq(products.id, early.id));
        return { placed: placed !== undefined, earlyStock: row?.stock };
      });
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(25);
      // A unit of the later product comes back (stocked with it, so the books balance) while the order waits.
      await lock.take(
        (sql) => sql`update products set stock = stock + 1, units_stocked = units_stocked + 1, version = version + 1
          where id = ${late.id}`,
      );
      await lock.release();
      outcome = await placing;
    } finally {
      await lock.end();
    }
    // Refused (the service prices it again in a new statement, which sees the unit), with nothing moved.
    expect(outcome).toEqual({ placed: false, earlyStock: 5 });
  });
});
