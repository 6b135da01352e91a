import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { checkInvariants } from "../../src/infra/db/invariants";
import { createTestApp, isolatedDatabase } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
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

  it("reports an ORDER_CREATED that does not say the order as written", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    expect(await checkInvariants(db, { productIds: [shoe.id] })).toEqual([]);
    // The order written a second later than its event says (an event worked out from another time than written).
    await db.execute(sql`update orders set created_at = created_at + interval '1 second' where id = ${order.id}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([
      "an order has at most one ORDER_CREATED, naming its buyer, total and time as written",
    ]);
    expect(violations[0]?.detail).toContain(order.id);
  });

  it("reports sold units that no paid order explains", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    await db.execute(
      sql`update products set stock = stock - 1, sold_quantity = sold_quantity + 1 where id = ${shoe.id}`,
    );
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([
      "sold quantity = units in paid orders that were not refunded in full",
      "daily sales hold each product's units sold and its live paid order lines",
    ]);
  });

  it("reports a product whose place in the popularity sort is not its units sold", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const paid = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
    await payOrder(t, buyer, paid.id);
    expect(await checkInvariants(db, { productIds: [shoe.id] })).toEqual([]);
    // The copy moved behind the triggers' back (they keep it only when products.sold_quantity moves).
    await db.execute(sql`update product_popularity set sold_quantity = 7 where product_id = ${shoe.id}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual(["the popularity sort holds each product's units sold"]);
    expect(violations[0]?.detail).toContain(shoe.id);
  });

  it("reports daily sales that the paid orders do not explain", async () => {
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
    await payOrder(t, buyer, order.id);
    expect(await checkInvariants(db, { productIds: [shoe.id] })).toEqual([]);
    await db.execute(sql`update product_sales_daily set quantity = quantity + 1 where product_id = ${shoe.id}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([
      "daily sales hold each product's units sold and its live paid order lines",
    ]);
  });
});

describe("the invariant checker over a whole shop", async () => {
  const shop = await createTestApp({ database: await isolatedDatabase() });
  afterAll(() => shop.close());
  const shopSeller = await shop.registerUser("SELLER");
  const shopBuyer = await shop.registerUser("BUYER");
  const shoe = await createProductVia(shop, shopSeller.token, { stock: 10, price: 30_000 });
  const order = await placeOrder(shop, shopBuyer.token, shopBuyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
  await payOrder(shop, shopBuyer, order.id);
  await shop.post("/api/v1/refunds", { orderId: order.id, amount: 10_000, reason: "scuffed" }, shopBuyer);
  const shopDb = shop.container.database.db;

  it("finds the daily sales equal to what was paid less refunded, and each day's orders counted once", async () => {
    expect(await checkInvariants(shopDb)).toEqual([]);
  });

  it("reports sales amounts and order counts the orders do not explain", async () => {
    await shopDb.execute(sql`update product_sales_daily set sales_amount = sales_amount + 1, orders = orders + 1`);
    expect((await checkInvariants(shopDb)).map((v) => v.rule)).toEqual([
      "daily sales add up to what was paid less what was refunded",
      "each Seoul day counts its live paid orders once",
    ]);
  });

  it("reports a seller's, a category's or a seller's category's order count the orders do not explain", async () => {
    await shopDb.execute(sql`update product_sales_daily set sales_amount = sales_amount - 1, orders = orders - 1,
      seller_orders = seller_orders + 1`);
    const violations = await checkInvariants(shopDb);
    expect(violations.map((v) => v.rule)).toEqual([
      "each Seoul day counts each seller's, category's and seller's category's live paid orders once",
    ]);
    expect(violations[0]?.detail).toContain('"grouping":"seller:');
  });
});
