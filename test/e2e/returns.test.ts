import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// Contract: Refunds → Returns. A refund in full of an order that has shipped leaves its pairs with the buyer
// (awaitingReturn) until the seller or an admin records what came back.
const t = await createTestApp();
afterAll(() => t.close());

type Who = Awaited<ReturnType<TestApp["registerUser"]>>;
const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");

const product = async (id: string) => (await t.get(`/api/v1/products/${id}`)).body;
const recordReturn = (orderId: string, who: Who, items: unknown[], headers: Record<string, string> = {}) =>
  t.post(`/api/v1/orders/${orderId}/returns`, { items }, { token: who.token, headers });
const keysOf = async (userId: string, key: string) =>
  rowsOf(
    await t.container.database.db.execute(sql`select 1 from idempotency_keys where scope = ${userId} and key = ${key}`),
  ).length;

/** An order of `quantity` pairs (stock 10), paid, moved along by its seller to `status`. */
async function orderAt(status: "CONFIRMED" | "PREPARING" | "SHIPPED" | "DELIVERED" | "COMPLETED", quantity = 2) {
  const buyer = await t.registerUser("BUYER");
  const shoe = await createProductVia(t, seller.token, { price: 100_000, stock: 10 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity }]);
  await payOrder(t, buyer, order.id);
  const steps = ["PREPARING", "SHIPPED", "DELIVERED", "COMPLETED"];
  for (const step of steps.slice(0, steps.indexOf(status) + 1)) {
    const moved = await t.patch(
      `/api/v1/orders/${order.id}/status`,
      { status: step },
      step === "COMPLETED" ? buyer : seller,
    );
    expect([step, moved.status]).toEqual([step, 200]);
  }
  return { buyer, shoe, order };
}
const refundAll = async (orderId: string, who: Who) => {
  const res = await t.post("/api/v1/refunds", { orderId, reason: "did not fit" }, who);
  expect([res.status, res.body.status]).toEqual([201, "REFUNDED"]);
  return res.body;
};
const salesOf = async (productId: string) =>
  (await t.get("/api/v1/stats/sales?groupBy=product", admin)).body.items.find(
    (row: { key: string }) => row.key === productId,
  );

describe("returns of orders refunded after they shipped", () => {
  it("leaves stock unchanged after a full refund of a delivered order until the return is recorded", async () => {
    const { buyer, shoe, order } = await orderAt("DELIVERED");
    expect(await product(shoe.id)).toMatchObject({ stock: 8, soldQuantity: 2, awaitingReturn: 0, writtenOff: 0 });
    expect(await salesOf(shoe.id)).toMatchObject({ quantity: 2, salesAmount: 200_000 });

    await refundAll(order.id, buyer);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({ status: "CANCELLED" });
    // The pairs are at the buyer's door: not on sale, not sold, awaited.
    expect(await product(shoe.id)).toMatchObject({ stock: 8, soldQuantity: 0, awaitingReturn: 2, writtenOff: 0 });
    expect(await salesOf(shoe.id)).toBeUndefined();
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);

    const recorded = await recordReturn(order.id, seller, [
      { productId: shoe.id, quantity: 1, condition: "RESELLABLE" },
      { productId: shoe.id, quantity: 1, condition: "DAMAGED" },
    ]);
    expect(recorded.status).toBe(201);
    expect(recorded.body).toMatchObject({
      orderId: order.id,
      recordedBy: seller.user.id,
      items: [
        { productId: shoe.id, quantity: 1, condition: "RESELLABLE" },
        { productId: shoe.id, quantity: 1, condition: "DAMAGED" },
      ],
      awaiting: [],
    });
    expect(await product(shoe.id)).toMatchObject({
      stock: 9,
      soldQuantity: 0,
      awaitingReturn: 0,
      writtenOff: 1,
      status: "AVAILABLE",
    });
    expect(await salesOf(shoe.id)).toBeUndefined();
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
    // Nothing left to record.
    const again = await recordReturn(order.id, seller, [{ productId: shoe.id, quantity: 1, condition: "RESELLABLE" }]);
    expect([again.status, again.body.code]).toEqual([409, "ORDER_NOT_RETURNABLE"]);
  });

  it("records a partial return, refuses more than is awaited (recording nothing), then the rest", async () => {
    const { buyer, shoe, order } = await orderAt("SHIPPED", 3);
    // Partial refunds adding up to the paid amount count as a full refund, after shipping too.
    expect((await t.post("/api/v1/refunds", { orderId: order.id, amount: 100_000, reason: "one" }, buyer)).status).toBe(
      201,
    );
    expect(await product(shoe.id)).toMatchObject({ stock: 7, soldQuantity: 3, awaitingReturn: 0 });
    await refundAll(order.id, buyer);
    expect(await product(shoe.id)).toMatchObject({ stock: 7, soldQuantity: 0, awaitingReturn: 3 });

    const partial = await recordReturn(order.id, admin, [{ productId: shoe.id, quantity: 2, condition: "RESELLABLE" }]);
    expect(partial.status).toBe(201);
    expect(partial.body.awaiting).toEqual([{ productId: shoe.id, quantity: 1 }]);
    expect(await product(shoe.id)).toMatchObject({ stock: 9, awaitingReturn: 1, writtenOff: 0 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);

    const over = await recordReturn(order.id, seller, [
      { productId: shoe.id, quantity: 1, condition: "RESELLABLE" },
      { productId: shoe.id, quantity: 1, condition: "DAMAGED" },
    ]);
    expect([over.status, over.body.code]).toEqual([400, "RETURN_EXCEEDS_AWAITED"]);
    expect(over.body.errors.map((e: { path: string }) => e.path)).toContain("items.0.quantity");
    expect(await product(shoe.id)).toMatchObject({ stock: 9, awaitingReturn: 1, writtenOff: 0 });

    const rest = await recordReturn(order.id, seller, [{ productId: shoe.id, quantity: 1, condition: "DAMAGED" }]);
    expect([rest.status, rest.body.awaiting]).toEqual([201, []]);
    expect(await product(shoe.id)).toMatchObject({ stock: 9, awaitingReturn: 0, writtenOff: 1 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("restocks at once an order refunded before it shipped: it has nothing to return", async () => {
    const { buyer, shoe, order } = await orderAt("PREPARING");
    await refundAll(order.id, buyer);
    expect(await product(shoe.id)).toMatchObject({ stock: 10, soldQuantity: 0, awaitingReturn: 0 });
    const res = await recordReturn(order.id, seller, [{ productId: shoe.id, quantity: 1, condition: "RESELLABLE" }]);
    expect([res.status, res.body.code]).toEqual([409, "ORDER_NOT_RETURNABLE"]);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("awaits the return of a COMPLETED order refunded in full, and of nothing while only part is refunded", async () => {
    const { buyer, shoe, order } = await orderAt("COMPLETED", 1);
    await t.post("/api/v1/refunds", { orderId: order.id, amount: 40_000, reason: "scuffed" }, buyer);
    expect(await product(shoe.id)).toMatchObject({ stock: 9, soldQuantity: 1, awaitingReturn: 0 });
    const early = await recordReturn(order.id, seller, [{ productId: shoe.id, quantity: 1, condition: "RESELLABLE" }]);
    expect([early.status, early.body.code]).toEqual([409, "ORDER_NOT_RETURNABLE"]);
    await refundAll(order.id, buyer);
    expect(await product(shoe.id)).toMatchObject({ stock: 9, soldQuantity: 0, awaitingReturn: 1 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("lets only a seller of the items or an admin record, each seller its own products", async () => {
    const buyer = await t.registerUser("BUYER");
    const mine = await createProductVia(t, seller.token, { price: 50_000, stock: 5 });
    const theirs = await createProductVia(t, otherSeller.token, { price: 70_000, stock: 5 });
    const order = await placeOrder(t, buyer.token, buyer.user.id, [
      { productId: mine.id, quantity: 1 },
      { productId: theirs.id, quantity: 1 },
    ]);
    await payOrder(t, buyer, order.id);
    for (const step of ["PREPARING", "SHIPPED"])
      await t.patch(`/api/v1/orders/${order.id}/status`, { status: step }, admin);
    await refundAll(order.id, buyer);
    const line = (productId: string) => [{ productId, quantity: 1, condition: "RESELLABLE" }];

    const outsider = await t.registerUser("SELLER");
    for (const who of [buyer, outsider]) {
      const res = await recordReturn(order.id, who, line(mine.id));
      expect([res.status, res.body.code]).toEqual([403, "FORBIDDEN"]);
    }
    const othersProduct = await recordReturn(order.id, seller, line(theirs.id));
    expect([othersProduct.status, othersProduct.body.code]).toEqual([403, "FORBIDDEN"]);
    const notInOrder = await recordReturn(order.id, admin, line(crypto.randomUUID()));
    expect([notInOrder.status, notInOrder.body.code]).toEqual([400, "RETURN_EXCEEDS_AWAITED"]);
    const unknown = await recordReturn(crypto.randomUUID(), admin, line(mine.id));
    expect([unknown.status, unknown.body.code]).toEqual([404, "ORDER_NOT_FOUND"]);

    expect((await recordReturn(order.id, seller, line(mine.id))).status).toBe(201);
    expect((await recordReturn(order.id, otherSeller, line(theirs.id))).status).toBe(201);
    expect(await product(mine.id)).toMatchObject({ stock: 5, awaitingReturn: 0 });
    expect(await product(theirs.id)).toMatchObject({ stock: 5, awaitingReturn: 0 });
    expect(await invariantViolations(t, [mine.id, theirs.id])).toEqual([]);
  });

  it("refuses the same product twice in one condition, and replays a keyed recording without recording twice", async () => {
    const { buyer, shoe, order } = await orderAt("DELIVERED", 2);
    await refundAll(order.id, buyer);
    const twice = await recordReturn(order.id, seller, [
      { productId: shoe.id, quantity: 1, condition: "RESELLABLE" },
      { productId: shoe.id, quantity: 1, condition: "RESELLABLE" },
    ]);
    expect([twice.status, twice.body.code]).toEqual([400, "VALIDATION_FAILED"]);

    const key = { "Idempotency-Key": crypto.randomUUID() };
    const items = [{ productId: shoe.id, quantity: 1, condition: "RESELLABLE" }];
    const first = await recordReturn(order.id, seller, items, key);
    const replay = await recordReturn(order.id, seller, items, key);
    expect([first.status, replay.status]).toEqual([201, 201]);
    expect(replay.headers.get("Idempotent-Replayed")).toBe("true");
    expect(replay.body.id).toBe(first.body.id);
    expect(await product(shoe.id)).toMatchObject({ stock: 9, awaitingReturn: 1 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("keeps no keyed refusal as the key's answer: a return refused before the full refund runs again after it", async () => {
    const { buyer, shoe, order } = await orderAt("SHIPPED", 2);
    await t.post("/api/v1/refunds", { orderId: order.id, amount: 100_000, reason: "one" }, buyer);
    const key = { "Idempotency-Key": crypto.randomUUID() };
    const items = [{ productId: shoe.id, quantity: 2, condition: "RESELLABLE" }];
    // Nothing awaited yet (only half refunded): refused, and the refusal rests on state that will change.
    const early = await recordReturn(order.id, seller, items, key);
    expect([early.status, early.body.code]).toEqual([409, "ORDER_NOT_RETURNABLE"]);
    expect(await keysOf(seller.user.id, key["Idempotency-Key"])).toBe(0);
    // More than is awaited: refused before any effect, not kept either.
    const overKey = { "Idempotency-Key": crypto.randomUUID() };
    await refundAll(order.id, buyer);
    const over = await recordReturn(
      order.id,
      seller,
      [{ productId: shoe.id, quantity: 3, condition: "DAMAGED" }],
      overKey,
    );
    expect([over.status, over.body.code]).toEqual([400, "RETURN_EXCEEDS_AWAITED"]);
    expect(await keysOf(seller.user.id, overKey["Idempotency-Key"])).toBe(0);

    const retried = await recordReturn(order.id, seller, items, key);
    expect([retried.status, retried.headers.get("Idempotent-Replayed")]).toEqual([201, null]);
    expect(retried.body.awaiting).toEqual([]);
    const replay = await recordReturn(order.id, seller, items, key);
    expect([replay.status, replay.headers.get("Idempotent-Replayed"), replay.body.id]).toEqual([
      201,
      "true",
      retried.body.id,
    ]);
    expect(await product(shoe.id)).toMatchObject({ stock: 10, awaitingReturn: 0 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("records a return whole or not at all: a failure at its last statement leaves stock and lines as they were", async () => {
    const { buyer, shoe, order } = await orderAt("DELIVERED", 2);
    await refundAll(order.id, buyer);
    const db = t.container.database.db;
    // The database refuses the return's own row, written after the lines and the stock have moved.
    await db.execute(
      sql.raw(`create or replace function fail_return_of_${shoe.id.replaceAll("-", "_")}() returns trigger
      language plpgsql as $$ begin raise exception 'disk gone'; end $$`),
    );
    await db.execute(
      sql.raw(`create trigger fail_return_${shoe.id.replaceAll("-", "_")} before insert on order_return_items
        for each row when (new.product_id = '${shoe.id}') execute function fail_return_of_${shoe.id.replaceAll("-", "_")}()`),
    );
    const failed = await recordReturn(order.id, seller, [{ productId: shoe.id, quantity: 2, condition: "RESELLABLE" }]);
    expect(failed.status).toBe(500);
    expect(await product(shoe.id)).toMatchObject({ stock: 8, awaitingReturn: 2, writtenOff: 0 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);

    await db.execute(sql.raw(`drop trigger fail_return_${shoe.id.replaceAll("-", "_")} on order_return_items`));
    const retried = await recordReturn(order.id, seller, [
      { productId: shoe.id, quantity: 2, condition: "RESELLABLE" },
    ]);
    expect([retried.status, retried.body.awaiting]).toEqual([201, []]);
    expect(await product(shoe.id)).toMatchObject({ stock: 10, awaitingReturn: 0 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});
