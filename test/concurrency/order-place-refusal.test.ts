import { afterAll, beforeAll, describe, expect, it } from "bun:test";
import { inArray } from "drizzle-orm";
import { products } from "../../src/infra/db/schema";
import { createTestApp, hasPostgres, type TestApp } from "../support/harness";
import { invariantViolations } from "../support/orders";
import { createProductVia } from "../support/products";
import { holdRowLock } from "../support/row-locks";

// An order is placed by one statement (order_place) that reserves its lines and writes the order only if every
// line was reserved. A refusal must write nothing, for any line: a keyed order without a coupon runs it in the
// key's transaction with no savepoint, and a refusal priced again (PriceChanged) runs it again in that same
// transaction. A line reserved by the refused attempt would then be reserved twice, and committed with one order.
const url = globalThis.kicksTest.services.databaseUrl as string;

describe.skipIf(!hasPostgres)("an order refused at its reservation writes nothing, for any of its lines", () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("reserves each line once when a keyed order is priced again after another line was repriced meanwhile", async () => {
    const seller = await t.registerUser("SELLER");
    const buyer = await t.registerUser("BUYER");
    const first = await createProductVia(t, seller.token, { price: 10_000, stock: 5 });
    const second = await createProductVia(t, seller.token, { price: 20_000, stock: 5 });
    // The statement locks its products in id order: the test holds the later one's row, so the statement has
    // the earlier one locked (and can reserve it) when it waits there.
    const [early, late] = [first, second].sort((a, b) => (a.id < b.id ? -1 : 1)) as [typeof first, typeof first];
    const body = {
      userId: buyer.user.id,
      items: [
        { productId: early.id, quantity: 1 },
        { productId: late.id, quantity: 1 },
      ],
    };

    const lock = await holdRowLock(url, (sql) => sql`select 1 from products where id = ${late.id} for update`);
    let placed: { status: number; body: any };
    try {
      const sent = t.post("/api/v1/orders", body, {
        token: buyer.token,
        headers: { "Idempotency-Key": crypto.randomUUID() },
      });
      while ((await lock.waitingFor()).length === 0) await Bun.sleep(25);
      // The seller reprices the later product while the order's statement waits for its row.
      await lock.take(
        (sql) => sql`update products set price = price + 1000, version = version + 1 where id = ${late.id}`,
      );
      await lock.release();
      placed = await sent;
    } finally {
      await lock.end();
    }
    expect(placed.status).toBe(201);
    expect(placed.body.items.map((line: { unitPrice: number }) => line.unitPrice).sort()).toEqual([10_000, 21_000]);

    const rows = await t.container.database.db
      .select({ id: products.id, stock: products.stock, reservedStock: products.reservedStock })
      .from(products)
      .where(inArray(products.id, [early.id, late.id]));
    for (const row of rows)
      expect({ id: row.id, stock: row.stock, reserved: row.reservedStock }).toEqual({
        id: row.id,
        stock: 4,
        reserved: 1,
      });
    expect(await invariantViolations(t, [early.id, late.id])).toEqual([]);
  });
});
