import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { checkInvariants } from "../../src/infra/db/invariants";
import { createTestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const t = await createTestApp();
afterAll(() => t.close());
const db = t.container.database.db;
const seller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");

describe("the invariant checker", () => {
  it("finds nothing wrong after real orders and cancellations", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const kept = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
    const dropped = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 3 }]);
    await t.request("PUT", `/api/v1/orders/${dropped.id}/cancel`, undefined, buyer);
    expect(kept.status).toBe("CREATED");
    expect(await checkInvariants(db, { productIds: [shoe.id] })).toEqual([]);
  });

  it("reports reserved stock that no unpaid order holds", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    // Units moved into reserved behind the orders' back (the CHECK on the counters still holds).
    await db.execute(
      sql`update products set stock = stock - 2, reserved_stock = reserved_stock + 2 where id = ${shoe.id}`,
    );
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual(["reserved stock = units in unpaid (CREATED) orders"]);
    expect(violations[0]?.detail).toContain(shoe.id);
  });

  it("reports sold units that no paid order explains", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    await db.execute(
      sql`update products set stock = stock - 1, sold_quantity = sold_quantity + 1 where id = ${shoe.id}`,
    );
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([
      "sold quantity = units in paid orders that were not refunded in full",
    ]);
  });
});
