import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { checkInvariants } from "../../src/infra/db/invariants";
import { createTestApp } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// The checker's return rules: each test breaks the books the way a lost statement would (the CHECKs on the
// counters still hold), and sees it reported; real refunds and returns report nothing.
const t = await createTestApp();
afterAll(() => t.close());
const db = t.container.database.db;
const seller = await t.registerUser("SELLER");

const AWAITED = "units awaiting return = the awaited units of cancelled orders' lines";
const WRITTEN_OFF = "units written off = the DAMAGED units of recorded returns";
const LINE_RETURNS = "a line's returned and written-off units are those its order's recorded returns name";
const SHIPPED_RETURNS =
  "an order refunded in full after it shipped awaits, or has recorded, the return of every unit; one refunded before it shipped awaits none";
const ONLY_CANCELLED = "only a cancelled order awaits returns, and then for every unit of its lines not yet recorded";

/** A product and an order of 2 of it, paid and shipped; refunded in full unless `refund` is false. */
async function shipped(refund = true) {
  const buyer = await t.registerUser("BUYER");
  const shoe = await createProductVia(t, seller.token, { stock: 10 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
  await payOrder(t, buyer, order.id);
  for (const status of ["PREPARING", "SHIPPED"]) await t.patch(`/api/v1/orders/${order.id}/status`, { status }, seller);
  if (refund) await t.post("/api/v1/refunds", { orderId: order.id, reason: "checker" }, buyer);
  return { shoe, order };
}
const rulesBroken = async (productId: string) =>
  (await checkInvariants(db, { productIds: [productId] })).map((v) => v.rule).sort();

describe("the checker's return rules", () => {
  it("report nothing after real refunds and returns, partial ones included", async () => {
    const { shoe, order } = await shipped();
    expect(await rulesBroken(shoe.id)).toEqual([]);
    const res = await t.post(
      `/api/v1/orders/${order.id}/returns`,
      { items: [{ productId: shoe.id, quantity: 1, condition: "DAMAGED" }] },
      seller,
    );
    expect(res.status).toBe(201);
    expect(await rulesBroken(shoe.id)).toEqual([]);
  });

  it("report awaited units put back on sale behind the order's back", async () => {
    const { shoe } = await shipped();
    await db.execute(sql`update products set awaiting_return = awaiting_return - 1, stock = stock + 1
      where id = ${shoe.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([AWAITED]);
  });

  it("report units written off that no recorded return names", async () => {
    const { shoe, order } = await shipped();
    await db.execute(sql`update products set awaiting_return = awaiting_return - 1, written_off = written_off + 1
      where id = ${shoe.id}`);
    await db.execute(sql`update order_items set awaiting_return = awaiting_return - 1,
      written_off_quantity = written_off_quantity + 1 where order_id = ${order.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([LINE_RETURNS, WRITTEN_OFF].sort());
  });

  it("report a line's awaited units lost (neither awaited nor recorded)", async () => {
    const { shoe, order } = await shipped();
    await db.execute(sql`update products set awaiting_return = awaiting_return - 1, stock = stock + 1
      where id = ${shoe.id}`);
    await db.execute(sql`update order_items set awaiting_return = awaiting_return - 1 where order_id = ${order.id}`);
    // The order shipped, so the rule on shipped orders' returns sees the lost unit too.
    expect(await rulesBroken(shoe.id)).toEqual([ONLY_CANCELLED, SHIPPED_RETURNS].sort());
  });

  it("report units awaited of an order that is not cancelled", async () => {
    const { shoe, order } = await shipped(false);
    await db.execute(sql`update products set sold_quantity = sold_quantity - 2, awaiting_return = awaiting_return + 2
      where id = ${shoe.id}`);
    await db.execute(sql`update order_items set awaiting_return = quantity where order_id = ${order.id}`);
    const broken = await rulesBroken(shoe.id);
    expect(broken).toContain(ONLY_CANCELLED);
    expect(broken).not.toContain(AWAITED);
  });

  it("report an order refunded in full after it shipped whose units went back on sale instead of being awaited", async () => {
    const { shoe, order } = await shipped();
    // As if the landing had restocked a shipped order's pairs: every count agrees, but they are at the buyer's door.
    await db.execute(sql`update products set awaiting_return = awaiting_return - 2, stock = stock + 2
      where id = ${shoe.id}`);
    await db.execute(sql`update order_items set awaiting_return = 0 where order_id = ${order.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([SHIPPED_RETURNS]);
  });

  it("report units awaited of an order refunded before it shipped (they never left the shop)", async () => {
    const buyer = await t.registerUser("BUYER");
    const shoe = await createProductVia(t, seller.token, { stock: 10 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 2 }]);
    await payOrder(t, buyer, order.id);
    await t.patch(`/api/v1/orders/${order.id}/status`, { status: "PREPARING" }, seller);
    await t.post("/api/v1/refunds", { orderId: order.id, reason: "checker" }, buyer);
    expect(await rulesBroken(shoe.id)).toEqual([]);
    await db.execute(sql`update products set stock = stock - 2, awaiting_return = awaiting_return + 2
      where id = ${shoe.id}`);
    await db.execute(sql`update order_items set awaiting_return = quantity where order_id = ${order.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([SHIPPED_RETURNS]);
  });
});
