import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { createCoupon } from "../support/coupons";
import { startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// What a refund request leaves behind when its process dies or its answer is lost, zero-total orders, and
// what refunds in progress mean for the next refund or cancel (contract: Refunds, Orders → cancel, Idempotency).
const gateway = startGateway();
const MAX_ATTEMPTS = 3;
const t = await createTestApp({
  env: {
    PAYMENT_GATEWAY_URL: gateway.url,
    PAYMENT_GATEWAY_TIMEOUT_MS: "1000",
    REFUND_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    RETRY_BASE_DELAY_MS: "1",
  },
});
afterAll(async () => {
  await t.close();
  await gateway.stop();
});
beforeEach(() => {
  gateway.refundFailures = 0;
});

const db = t.container.database.db;
const seller = await t.registerUser("SELLER");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function paidOrder(price = 10_000, extra: Record<string, unknown> = {}, who?: Who) {
  const buyer = who ?? (await t.registerUser("BUYER"));
  const shoe = await createProductVia(t, seller.token, { price, stock: 5 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }], extra);
  await payOrder(t, buyer, order.id);
  return { buyer, shoe, order };
}
const refund = (orderId: string, who: Who, fields: Record<string, unknown> = {}, key?: string) =>
  t.post(
    "/api/v1/refunds",
    { orderId, reason: "Wrong size", ...fields },
    { token: who.token, headers: key ? { "Idempotency-Key": key } : {} },
  );
const cancel = (orderId: string, who: Who) => t.put(`/api/v1/orders/${orderId}/cancel`, undefined, who);
const orderOf = async (orderId: string, who: Who) => (await t.get(`/api/v1/orders/${orderId}`, who)).body;
const refundOf = async (refundId: string, who: Who) => (await t.get(`/api/v1/refunds/${refundId}`, who)).body;
const balanceOf = async (who: Who) => (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;
const refundCalls = (refundId: string) =>
  gateway.requests.filter((r) => r.path === "/refunds" && r.body.refundId === refundId).length;
const refundsOfOrder = async (orderId: string) =>
  rowsOf<{ id: string; status: string; amount: number; attempts: number }>(
    await db.execute(sql`select id, status, amount, attempts from refunds where order_id = ${orderId}`),
  );
/** Time passes: every lease and backoff of these refunds runs out. */
const leasesRunOut = (orderId: string) =>
  db.execute(sql`update refunds set next_attempt_at = now() - interval '1 second'
    where order_id = ${orderId} and next_attempt_at is not null`);

describe("a refund whose process died", () => {
  it("is recorded already claimed for its first try: PROCESSING, one attempt, a lease", async () => {
    const { buyer, order } = await paidOrder(12_000);
    gateway.refundFailures = 1;
    const failed = await refund(order.id, buyer);
    expect(failed.body).toMatchObject({ status: "FAILED", attempts: 1 });
    // Exactly one gateway call for the one attempt counted: the claim is the first try's, made with the record.
    expect(refundCalls(failed.body.id)).toBe(1);
  });

  it("is finished by the retry job when it was left REFUND_REQUESTED, its amount held (the old crash's state)", async () => {
    const { buyer, shoe, order } = await paidOrder(20_000);
    // What a process killed between recording a refund and claiming it left before the fix.
    const refundId = Bun.randomUUIDv7();
    await db.transaction(async (tx) => {
      await tx.execute(sql`update orders set refund_pending_amount = 20000 where id = ${order.id}`);
      await tx.execute(sql`insert into refunds (id, order_id, payment_id, user_id, amount, reason, status, requested_by)
        select ${refundId}, o.id, o.payment_id, o.user_id, 20000, 'died', 'REFUND_REQUESTED', o.user_id
        from orders o where o.id = ${order.id}`);
    });
    expect(await t.container.services.refunds.retryDue()).toBeGreaterThanOrEqual(1);
    expect(await refundOf(refundId, buyer)).toMatchObject({ status: "REFUNDED", attempts: 1 });
    expect(refundCalls(refundId)).toBe(1);
    expect(await balanceOf(buyer)).toBe(20_000);
    expect((await orderOf(order.id, buyer)).status).toBe("CANCELLED");
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("is taken over by the job once its try's lease has run out, and credited once", async () => {
    const { buyer, shoe, order } = await paidOrder(9_000);
    gateway.refundFailures = 1;
    const first = await refund(order.id, buyer);
    // A try that died mid-flight: PROCESSING with its lease, as the process left it.
    await db.execute(sql`update refunds set status = 'PROCESSING', next_attempt_at = now() + interval '1 minute'
      where id = ${first.body.id}`);
    await t.container.services.refunds.retryDue();
    expect((await refundOf(first.body.id, buyer)).status).toBe("PROCESSING");
    await leasesRunOut(order.id);
    await t.container.services.refunds.retryDue();
    expect(await refundOf(first.body.id, buyer)).toMatchObject({ status: "REFUNDED", attempts: 2 });
    expect(refundCalls(first.body.id)).toBe(2);
    expect(await balanceOf(buyer)).toBe(9_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

describe("POST /refunds retried with the same Idempotency-Key after the stored answer was lost", () => {
  it("answers with the refund the first request made, never a second one", async () => {
    const { buyer, shoe, order } = await paidOrder(10_000);
    const key = `refund-${crypto.randomUUID()}`;
    gateway.refundFailures = 1;
    const first = await refund(order.id, buyer, { amount: 3_000 }, key);
    expect(first.body).toMatchObject({ status: "FAILED", amount: 3_000 });
    // The key's row gone, as a 5xx after the commit releases it (or its in-flight lease was taken over).
    await db.execute(sql`delete from idempotency_keys where key = ${key}`);
    await leasesRunOut(order.id);

    const again = await refund(order.id, buyer, { amount: 3_000 }, key);
    expect(again.status).toBe(201);
    expect(again.body).toMatchObject({ id: first.body.id, amount: 3_000, status: "REFUNDED", attempts: 2 });
    expect(await refundsOfOrder(order.id)).toHaveLength(1);
    expect(await balanceOf(buyer)).toBe(3_000);
    expect((await orderOf(order.id, buyer)).refundedAmount).toBe(3_000);

    // Once more, the refund landed: the same refund, no gateway call.
    await db.execute(sql`delete from idempotency_keys where key = ${key}`);
    const third = await refund(order.id, buyer, { amount: 3_000 }, key);
    expect(third.body).toMatchObject({ id: first.body.id, status: "REFUNDED" });
    expect(refundCalls(first.body.id)).toBe(2);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("refuses the key with another body (422), and lets another key make another refund", async () => {
    const { buyer, order } = await paidOrder(10_000);
    const key = `refund-${crypto.randomUUID()}`;
    const first = await refund(order.id, buyer, { amount: 1_000 }, key);
    expect(first.status).toBe(201);
    await db.execute(sql`delete from idempotency_keys where key = ${key}`);
    const changed = await refund(order.id, buyer, { amount: 2_000 }, key);
    expect(changed.status).toBe(422);
    expect(changed.body.code).toBe("IDEMPOTENCY_KEY_REUSED");
    const other = await refund(order.id, buyer, { amount: 1_000 }, `refund-${crypto.randomUUID()}`);
    expect(other.status).toBe(201);
    expect(other.body.id).not.toBe(first.body.id);
    expect(await refundsOfOrder(order.id)).toHaveLength(2);
  });

  it("scopes the key per requester: an admin's key and the buyer's same key are two requests", async () => {
    const admin = await t.registerUser("ADMIN");
    const { buyer, order } = await paidOrder(10_000);
    const key = `refund-${crypto.randomUUID()}`;
    const mine = await refund(order.id, buyer, { amount: 1_000 }, key);
    const theirs = await refund(order.id, admin, { amount: 1_000 }, key);
    expect(mine.status).toBe(201);
    expect(theirs.status).toBe(201);
    expect(theirs.body.id).not.toBe(mine.body.id);
  });
});

describe("an order paid in full by a coupon (total 0)", () => {
  async function zeroTotalOrder() {
    const buyer = await t.registerUser("BUYER");
    const coupon = await createCoupon(t, seller.token, {
      type: "FIXED",
      discountValue: 50_000,
      maxDiscountAmount: undefined,
    });
    const held = (await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: buyer.user.id }, buyer)).body;
    const { shoe, order } = await paidOrder(30_000, { userCouponId: held.id }, buyer);
    expect(order).toMatchObject({ couponApplied: true, totalAmount: 0 });
    expect((await orderOf(order.id, buyer)).status).toBe("CONFIRMED");
    return { buyer, shoe, order, userCouponId: held.id as string };
  }
  const couponStatus = async (who: Who, userCouponId: string) =>
    (await t.get(`/api/v1/coupons/user/${who.user.id}`, who)).body.items.find(
      (uc: { id: string }) => uc.id === userCouponId,
    ).status;

  it("is refunded with 0: cancelled, stock and coupon back, no gateway call", async () => {
    const { buyer, shoe, order, userCouponId } = await zeroTotalOrder();
    expect((await refund(order.id, buyer, { amount: 1 })).body).toMatchObject({
      code: "REFUND_EXCEEDS_PAID",
      refundable: 0,
    });
    const res = await refund(order.id, buyer);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ amount: 0, status: "REFUNDED", attempts: 0 });
    expect(refundCalls(res.body.id)).toBe(0);
    expect(await orderOf(order.id, buyer)).toMatchObject({ status: "CANCELLED", cancelReason: "REFUNDED" });
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 5, soldQuantity: 0 });
    expect(await couponStatus(buyer, userCouponId)).toBe("REFUNDED");
    expect(await balanceOf(buyer)).toBe(0);
    expect((await refund(order.id, buyer)).body.code).toBe("ORDER_NOT_REFUNDABLE");
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("is cancelled like any other paid order (200), once", async () => {
    const { buyer, shoe, order, userCouponId } = await zeroTotalOrder();
    const res = await cancel(order.id, buyer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: "CANCELLED", cancelReason: "REFUNDED" });
    expect(await couponStatus(buyer, userCouponId)).toBe("REFUNDED");
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body.stock).toBe(5);
    expect((await cancel(order.id, buyer)).body.code).toBe("ORDER_NOT_CANCELLABLE");
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });
});

describe("when refunds in progress hold the rest of an order", () => {
  it("a refund without amount is 409 ORDER_NOT_REFUNDABLE, with an amount 400 REFUND_EXCEEDS_PAID", async () => {
    const { buyer, order } = await paidOrder(8_000);
    gateway.refundFailures = 1;
    expect((await refund(order.id, buyer)).body.status).toBe("FAILED");
    const none = await refund(order.id, buyer);
    expect(none.status).toBe(409);
    expect(none.body.code).toBe("ORDER_NOT_REFUNDABLE");
    const some = await refund(order.id, buyer, { amount: 1 });
    expect(some.status).toBe(400);
    expect(some.body.code).toBe("REFUND_EXCEEDS_PAID");
  });

  it("a cancel answers 202 with the order and refunds nothing new; it is CANCELLED when they land", async () => {
    const { buyer, shoe, order } = await paidOrder(8_000);
    gateway.refundFailures = 1;
    const held = await refund(order.id, buyer);
    expect(held.body.status).toBe("FAILED");
    const res = await cancel(order.id, buyer);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id: order.id, status: "CONFIRMED" });
    expect(await refundsOfOrder(order.id)).toHaveLength(1);
    await leasesRunOut(order.id);
    await t.container.services.refunds.retryDue();
    expect((await orderOf(order.id, buyer)).status).toBe("CANCELLED");
    expect(await balanceOf(buyer)).toBe(8_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("a cancel refunds only what is not held, and the order waits (202) for the held part to land", async () => {
    const { buyer, shoe, order } = await paidOrder(10_000);
    gateway.refundFailures = 1;
    expect((await refund(order.id, buyer, { amount: 3_000 })).body.status).toBe("FAILED");
    const res = await cancel(order.id, buyer);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: "CONFIRMED", refundedAmount: 7_000 });
    await leasesRunOut(order.id);
    await t.container.services.refunds.retryDue();
    expect(await orderOf(order.id, buyer)).toMatchObject({ status: "CANCELLED", refundedAmount: 10_000 });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("a cancel answers 202 while a MANUAL refund holds the rest: it waits for a person", async () => {
    const { buyer, order } = await paidOrder(5_000);
    gateway.refundFailures = 100;
    const first = await refund(order.id, buyer);
    for (let i = 1; i < MAX_ATTEMPTS; i++) {
      await leasesRunOut(order.id);
      await t.container.services.refunds.retryDue();
    }
    expect((await refundOf(first.body.id, buyer)).status).toBe("MANUAL");
    const res = await cancel(order.id, buyer);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("CONFIRMED");
    expect(await refundsOfOrder(order.id)).toHaveLength(1);
    expect((await refund(order.id, buyer)).body.code).toBe("ORDER_NOT_REFUNDABLE");
  });
});
