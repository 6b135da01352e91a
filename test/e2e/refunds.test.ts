import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { createCoupon } from "../support/coupons";
import { startAlertSink, startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

const gateway = startGateway();
const alerts = startAlertSink();
const MAX_ATTEMPTS = 3;
const t = await createTestApp({
  env: {
    PAYMENT_GATEWAY_URL: gateway.url,
    PAYMENT_GATEWAY_TIMEOUT_MS: "1000",
    REFUND_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    RETRY_BASE_DELAY_MS: "1",
    ALERT_WEBHOOK_URL: alerts.url,
  },
});
afterAll(async () => {
  await t.close();
  await gateway.stop();
  await alerts.stop();
});
beforeEach(() => {
  gateway.refundFailures = 0;
});

const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function paidOrder(price = 100_000, quantity = 1, extra: Record<string, unknown> = {}, who?: Who) {
  const buyer = who ?? (await t.registerUser("BUYER"));
  const shoe = await createProductVia(t, seller.token, { price, stock: 10 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity }], extra);
  await payOrder(t, buyer, order.id);
  return { buyer, shoe, order };
}
const refund = (orderId: string, who: Who, fields: Record<string, unknown> = {}) =>
  t.post("/api/v1/refunds", { orderId, reason: "Wrong size", ...fields }, who);
const orderOf = async (orderId: string, who: Who) => (await t.get(`/api/v1/orders/${orderId}`, who)).body;
const balanceOf = async (who: Who) => (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;
// Makes this order's failed refunds due first: other files of the run share the database and may leave more
// failed refunds due than one retryDue() takes (it took the oldest 50, so a refund made due "now" could wait).
const refundsDue = async (orderId: string) => {
  await t.container.database.db.execute(
    sql`update refunds set next_attempt_at = now() - interval '1 year' where status = 'FAILED' and order_id = ${orderId}`,
  );
  return t.container.services.refunds.retryDue();
};

describe("POST /api/v1/refunds", () => {
  it("refunds part of an order, crediting the balance, then the rest, which cancels the order and restocks", async () => {
    const { buyer, shoe, order } = await paidOrder(100_000, 2);
    const first = await refund(order.id, buyer, { amount: 50_000 });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ orderId: order.id, amount: 50_000, status: "REFUNDED", attempts: 1 });
    expect(gateway.requests.find((r) => r.path === "/refunds" && r.body.refundId === first.body.id)).toMatchObject({
      idempotencyKey: first.body.id,
      body: { paymentId: first.body.paymentId, amount: 50_000 },
    });
    expect(await balanceOf(buyer)).toBe(50_000);
    expect(await orderOf(order.id, buyer)).toMatchObject({ status: "CONFIRMED", refundedAmount: 50_000 });

    const rest = await refund(order.id, buyer);
    expect(rest.body).toMatchObject({ amount: 150_000, status: "REFUNDED" });
    expect(await balanceOf(buyer)).toBe(200_000);
    expect(await orderOf(order.id, buyer)).toMatchObject({
      status: "CANCELLED",
      cancelReason: "REFUNDED",
      refundedAmount: 200_000,
    });
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({ stock: 10, soldQuantity: 0 });
    const events = await t.container.database.db.query.orderEvents.findMany({
      where: (e, { eq }) => eq(e.aggregateId, order.id),
      orderBy: (e, { asc }) => asc(e.seq),
    });
    expect(events.map((e) => e.type)).toEqual([
      "ORDER_CREATED",
      "PAYMENT_COMPLETED",
      "REFUND_COMPLETED",
      "REFUND_COMPLETED",
      "ORDER_CANCELLED",
    ]);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("refuses more than is left with 400 REFUND_EXCEEDS_PAID, and an unpaid order with 409", async () => {
    const { buyer, order } = await paidOrder(30_000);
    const tooMuch = await refund(order.id, buyer, { amount: 30_001 });
    expect(tooMuch.status).toBe(400);
    expect(tooMuch.body).toMatchObject({ code: "REFUND_EXCEEDS_PAID", refundable: 30_000 });
    const shoe = await createProductVia(t, seller.token);
    const unpaid = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    expect((await refund(unpaid.id, buyer)).body.code).toBe("ORDER_NOT_REFUNDABLE");
    expect((await refund(Bun.randomUUIDv7(), buyer)).body.code).toBe("ORDER_NOT_FOUND");
    expect((await refund(order.id, buyer, { amount: 0 })).body.code).toBe("VALIDATION_FAILED");
    expect((await refund(order.id, buyer, { reason: "" })).body.code).toBe("VALIDATION_FAILED");
  });

  it("lets the buyer or an admin refund, nobody else", async () => {
    const { buyer, order } = await paidOrder(20_000);
    const stranger = await t.registerUser("BUYER");
    expect((await refund(order.id, stranger)).status).toBe(403);
    expect((await refund(order.id, seller)).status).toBe(403);
    expect((await refund(order.id, admin, { amount: 1_000 })).status).toBe(201);
    const mine = await refund(order.id, buyer, { amount: 1_000 });
    expect((await t.get(`/api/v1/refunds/${mine.body.id}`, buyer)).body.id).toBe(mine.body.id);
    expect((await t.get(`/api/v1/refunds/${mine.body.id}`, stranger)).status).toBe(403);
    expect((await t.get(`/api/v1/refunds/${Bun.randomUUIDv7()}`, buyer)).body.code).toBe("REFUND_NOT_FOUND");
  });

  it("retries a failing refund with backoff and credits it once when it lands", async () => {
    const { buyer, shoe, order } = await paidOrder(40_000);
    gateway.refundFailures = 2;
    const first = await refund(order.id, buyer);
    expect(first.body).toMatchObject({ status: "FAILED", attempts: 1 });
    expect(await balanceOf(buyer)).toBe(0);
    await refundsDue(order.id);
    expect((await t.get(`/api/v1/refunds/${first.body.id}`, buyer)).body).toMatchObject({
      status: "FAILED",
      attempts: 2,
    });
    await refundsDue(order.id);
    expect((await t.get(`/api/v1/refunds/${first.body.id}`, buyer)).body).toMatchObject({
      status: "REFUNDED",
      attempts: 3,
    });
    expect(await balanceOf(buyer)).toBe(40_000);
    const credits = (await t.get(`/api/v1/balances/${buyer.user.id}/transactions`, buyer)).body.items.filter(
      (e: { type: string }) => e.type === "REFUND",
    );
    expect(credits).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("leaves a refund that keeps failing to a person: MANUAL, an alert, the amount still held", async () => {
    const { buyer, shoe, order } = await paidOrder(25_000);
    gateway.refundFailures = 100;
    const first = await refund(order.id, buyer);
    for (let i = 1; i < MAX_ATTEMPTS; i++) await refundsDue(order.id);
    const manual = (await t.get(`/api/v1/refunds/${first.body.id}`, buyer)).body;
    expect(manual).toMatchObject({ status: "MANUAL", attempts: MAX_ATTEMPTS });
    expect(alerts.alerts.find((a) => a.details?.refundId === first.body.id)).toMatchObject({ kind: "REFUND_MANUAL" });
    expect((await refund(order.id, buyer, { amount: 1 })).body.code).toBe("REFUND_EXCEEDS_PAID");
    expect(await balanceOf(buyer)).toBe(0);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("credits a refund that lifts a balance past the cap (the cap bounds top-ups only); the next charge is refused, a payment is not", async () => {
    const { buyer, shoe, order } = await paidOrder(25_000);
    // The buyer tops the balance up to the 1,000,000,000 cap: the refund's credit takes it past.
    for (let i = 0; i < 100; i++) {
      expect(
        (await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 10_000_000 }, buyer)).status,
      ).toBe(200);
    }
    const first = await refund(order.id, buyer, { amount: 5_000 });
    expect([first.status, first.body.status, first.body.attempts]).toEqual([201, "REFUNDED", 1]);
    expect(await balanceOf(buyer)).toBe(1_000_005_000);
    const ledger = (await t.get(`/api/v1/balances/${buyer.user.id}/transactions`, buyer)).body.items;
    expect(ledger[0]).toMatchObject({
      type: "REFUND",
      amount: 5_000,
      balanceAfter: 1_000_005_000,
      referenceId: first.body.id,
    });
    const topUp = await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 1 }, buyer);
    expect([topUp.status, topUp.body.code]).toEqual([400, "BALANCE_LIMIT_EXCEEDED"]);
    expect(await balanceOf(buyer)).toBe(1_000_005_000);
    // What the balance holds past the cap stays spendable: the payment's debit is bounded by zero alone.
    const next = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
    const paid = await t.post("/api/v1/payments/process", { orderId: next.id }, buyer);
    expect([paid.status, paid.body.status]).toEqual([200, "COMPLETED"]);
    expect(await balanceOf(buyer)).toBe(1_000_005_000 - 25_000);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("gives the order's coupon back on a full refund, usable again", async () => {
    const buyer = await t.registerUser("BUYER");
    const coupon = await createCoupon(t, seller.token, {
      type: "FIXED",
      discountValue: 10_000,
      maxDiscountAmount: undefined,
    });
    const held = (await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: buyer.user.id }, buyer)).body;
    const { order } = await paidOrder(60_000, 1, { userCouponId: held.id }, buyer);
    expect(order).toMatchObject({ couponApplied: true, totalAmount: 50_000 });
    expect((await refund(order.id, buyer)).body).toMatchObject({ amount: 50_000, status: "REFUNDED" });
    const mine = await t.get(`/api/v1/coupons/user/${buyer.user.id}`, buyer);
    expect(mine.body.items.find((uc: { id: string }) => uc.id === held.id).status).toBe("REFUNDED");
    const shoe = await createProductVia(t, seller.token, { price: 60_000 });
    const again = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }], {
      userCouponId: held.id,
    });
    expect(again).toMatchObject({ couponApplied: true, discountAmount: 10_000 });
  });
});

describe("cancelling a paid order", () => {
  it("refunds a CONFIRMED or PREPARING order in full, then cancels it", async () => {
    for (const prepare of [false, true]) {
      const { buyer, shoe, order } = await paidOrder(70_000);
      if (prepare) await t.patch(`/api/v1/orders/${order.id}/status`, { status: "PREPARING" }, seller);
      const res = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer);
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ status: "CANCELLED", cancelReason: "REFUNDED", refundedAmount: 70_000 });
      expect(await balanceOf(buyer)).toBe(70_000);
      expect(await invariantViolations(t, [shoe.id])).toEqual([]);
    }
  });

  it("answers 202 with the order still paid while its refund is retried, and cancels it when it lands", async () => {
    const { buyer, order } = await paidOrder(15_000);
    gateway.refundFailures = 1;
    const res = await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer);
    expect(res.status).toBe(202);
    expect(res.body.status).toBe("CONFIRMED");
    await refundsDue(order.id);
    expect((await orderOf(order.id, buyer)).status).toBe("CANCELLED");
  });

  it("refuses a shipped order with 409 ORDER_NOT_CANCELLABLE", async () => {
    const { buyer, order } = await paidOrder(15_000);
    for (const status of ["PREPARING", "SHIPPED"])
      await t.patch(`/api/v1/orders/${order.id}/status`, { status }, seller);
    expect((await t.request("PUT", `/api/v1/orders/${order.id}/cancel`, undefined, buyer)).body.code).toBe(
      "ORDER_NOT_CANCELLABLE",
    );
  });
});
