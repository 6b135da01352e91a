import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { createTestApp, type TestApp } from "../support/harness";
import { invariantViolations, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// The built-in simulated gateway: approves, except the amounts it is told to decline.
const DECLINED_TOTAL = 66_600;
const t = await createTestApp({ env: { PAYMENT_GATEWAY_DECLINE_AMOUNTS: String(DECLINED_TOTAL) } });
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

async function buyerWith(balance: number): Promise<Who> {
  const buyer = await t.registerUser("BUYER");
  if (balance > 0) await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: balance }, buyer);
  return buyer;
}

async function orderOf(buyer: Who, price: number, quantity = 1) {
  const shoe = await createProductVia(t, seller.token, { price, stock: 10 });
  return { shoe, order: await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity }]) };
}

const balanceOf = async (who: Who) => (await t.get(`/api/v1/balances/${who.user.id}`, who)).body.balance as number;
const ledgerOf = async (who: Who) =>
  (await t.get(`/api/v1/balances/${who.user.id}/transactions?size=100`, who)).body.items as {
    type: string;
    amount: number;
    referenceId: string | null;
  }[];
const orderRow = (orderId: string) =>
  t.container.database.db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, orderId) });
const eventsOf = (orderId: string) =>
  t.container.database.db.query.orderEvents.findMany({ where: (e, { eq }) => eq(e.aggregateId, orderId) });

describe("POST /api/v1/payments/process", () => {
  it("answers every step with the time stored for it, in the order taken, and GET the same", async () => {
    const buyer = await buyerWith(100_000);
    const { order } = await orderOf(buyer, 10_000);
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(200);
    const stored = await t.container.database.db.query.paymentStatusHistory.findMany({
      where: (h, { eq }) => eq(h.paymentId, res.body.id),
      orderBy: (h, { asc }) => [asc(h.id)],
    });
    expect(stored.length).toBeGreaterThan(1);
    expect(res.body.history).toEqual(stored.map((step) => ({ status: step.status, at: step.at.toISOString() })));
    expect((await t.get(`/api/v1/payments/${res.body.id}`, buyer)).body).toEqual(res.body);
  });

  it("pays an order from the balance: COMPLETED, order CONFIRMED, units sold, PAYMENT_COMPLETED once", async () => {
    const buyer = await buyerWith(500_000);
    const { shoe, order } = await orderOf(buyer, 150_000, 2);
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ orderId: order.id, userId: buyer.user.id, amount: 300_000, status: "COMPLETED" });
    expect(res.body.gatewayTransactionId).toBeString();
    expect(res.body.history.map((step: { status: string }) => step.status)).toEqual([
      "INITIATED",
      "VALIDATING",
      "LOCK_ACQUIRED",
      "DEBITED",
      "GATEWAY_REQUESTED",
      "COMPLETED",
    ]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({
      status: "CONFIRMED",
      paymentId: res.body.id,
      paidAmount: 300_000,
    });
    expect(await balanceOf(buyer)).toBe(200_000);
    expect((await ledgerOf(buyer))[0]).toMatchObject({ type: "PAYMENT", amount: -300_000, referenceId: res.body.id });
    expect((await t.get(`/api/v1/products/${shoe.id}`)).body).toMatchObject({
      stock: 8,
      reservedStock: 0,
      soldQuantity: 2,
    });
    const events = await eventsOf(order.id);
    expect(events.filter((e) => e.type === "PAYMENT_COMPLETED")).toHaveLength(1);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("answers a short balance with 402 INSUFFICIENT_BALANCE naming the payment, debiting nothing", async () => {
    const buyer = await buyerWith(10_000);
    const { shoe, order } = await orderOf(buyer, 50_000);
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(402);
    expect(res.body).toMatchObject({ code: "INSUFFICIENT_BALANCE" });
    const payment = (await t.get(`/api/v1/payments/${res.body.paymentId}`, buyer)).body;
    expect(payment).toMatchObject({ status: "FAILED", failureReason: "INSUFFICIENT_BALANCE" });
    expect(payment.history.map((s: { status: string }) => s.status)).toEqual([
      "INITIATED",
      "VALIDATING",
      "LOCK_ACQUIRED",
      "FAILED",
    ]);
    expect(await balanceOf(buyer)).toBe(10_000);
    expect((await ledgerOf(buyer)).filter((e) => e.type === "PAYMENT")).toEqual([]);
    expect(await orderRow(order.id)).toMatchObject({
      status: "CREATED",
      paymentId: null,
    });
    // Charged enough, the same order can be paid.
    await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 40_000 }, buyer);
    expect((await t.post("/api/v1/payments/process", { orderId: order.id }, buyer)).status).toBe(200);
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("records the payment of an order whose time to pay ran out as FAILED ORDER_NOT_PAYABLE, holding and debiting nothing", async () => {
    const buyer = await buyerWith(100_000);
    const { shoe, order } = await orderOf(buyer, 20_000);
    // Still CREATED (the expiry job has not come by), but past its time: only the payment's own statement sees it.
    await t.container.database.db.execute(
      sql`update orders set expires_at = now() - interval '1 minute' where id = ${order.id}`,
    );
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: "ORDER_NOT_PAYABLE", detail: "The order's time to pay has run out" });
    const [payment] = await t.container.database.db.query.payments.findMany({
      where: (p, { eq }) => eq(p.orderId, order.id),
    });
    expect(payment).toMatchObject({ status: "FAILED", failureReason: "ORDER_NOT_PAYABLE", chargeWindowEndsAt: null });
    const stored = (await t.get(`/api/v1/payments/${payment?.id}`, buyer)).body;
    expect(stored.history.map((s: { status: string }) => s.status)).toEqual(["INITIATED", "VALIDATING", "FAILED"]);
    expect(await balanceOf(buyer)).toBe(100_000);
    expect((await ledgerOf(buyer)).filter((e) => e.type === "PAYMENT")).toEqual([]);
    expect(await orderRow(order.id)).toMatchObject({
      status: "CREATED",
      paymentId: null,
    });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("answers a decline with 402 PAYMENT_DECLINED, restoring the balance in the same step by a REVERSAL of the payment", async () => {
    const buyer = await buyerWith(100_000);
    const { shoe, order } = await orderOf(buyer, DECLINED_TOTAL);
    const res = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
    expect(res.status).toBe(402);
    expect(res.body.code).toBe("PAYMENT_DECLINED");
    expect((await t.get(`/api/v1/payments/${res.body.paymentId}`, buyer)).body.status).toBe("FAILED");
    expect(await balanceOf(buyer)).toBe(100_000);
    // The statement shows the debit undone, not a refund of a charge that never happened.
    expect((await ledgerOf(buyer)).slice(0, 2).map((e) => [e.type, e.amount, e.referenceId])).toEqual([
      ["REVERSAL", DECLINED_TOTAL, res.body.paymentId],
      ["PAYMENT", -DECLINED_TOTAL, res.body.paymentId],
    ]);
    expect((await ledgerOf(buyer)).filter((e) => e.type === "REFUND")).toEqual([]);
    expect((await t.get(`/api/v1/orders/${order.id}`, buyer)).body).toMatchObject({ status: "CREATED" });
    expect(await invariantViolations(t, [shoe.id])).toEqual([]);
  });

  it("refuses to pay an order twice, or one that was cancelled, with 409 ORDER_NOT_PAYABLE", async () => {
    const buyer = await buyerWith(300_000);
    const { order } = await orderOf(buyer, 100_000);
    expect((await t.post("/api/v1/payments/process", { orderId: order.id }, buyer)).status).toBe(200);
    expect((await t.post("/api/v1/payments/process", { orderId: order.id }, buyer)).body.code).toBe(
      "ORDER_NOT_PAYABLE",
    );
    const { order: cancelled } = await orderOf(buyer, 100_000);
    await t.request("PUT", `/api/v1/orders/${cancelled.id}/cancel`, undefined, buyer);
    expect((await t.post("/api/v1/payments/process", { orderId: cancelled.id }, buyer)).body.code).toBe(
      "ORDER_NOT_PAYABLE",
    );
    expect(await balanceOf(buyer)).toBe(200_000);
  });

  it("lets only the order's buyer (or an admin) pay it, and knows no unknown order", async () => {
    const buyer = await buyerWith(100_000);
    const stranger = await buyerWith(100_000);
    const { order } = await orderOf(buyer, 10_000);
    expect((await t.post("/api/v1/payments/process", { orderId: order.id }, stranger)).status).toBe(403);
    expect((await t.post("/api/v1/payments/process", { orderId: Bun.randomUUIDv7() }, buyer)).body.code).toBe(
      "ORDER_NOT_FOUND",
    );
    expect((await t.post("/api/v1/payments/process", { orderId: "x" }, buyer)).body.code).toBe("VALIDATION_FAILED");
    expect((await t.post("/api/v1/payments/process", { orderId: order.id })).status).toBe(401);
  });

  it("replays the first answer for a repeated Idempotency-Key, debiting once", async () => {
    const buyer = await buyerWith(100_000);
    const { order } = await orderOf(buyer, 30_000);
    const headers = { "Idempotency-Key": crypto.randomUUID() };
    const first = await t.post("/api/v1/payments/process", { orderId: order.id }, { ...buyer, headers });
    const again = await t.post("/api/v1/payments/process", { orderId: order.id }, { ...buyer, headers });
    expect(first.status).toBe(200);
    expect(again.status).toBe(200);
    expect(again.headers.get("Idempotent-Replayed")).toBe("true");
    expect(again.body.id).toBe(first.body.id);
    expect(await balanceOf(buyer)).toBe(70_000);
  });
});

describe("GET /api/v1/payments/{paymentId}", () => {
  it("shows a payment to its buyer and an admin, and to nobody else", async () => {
    const buyer = await buyerWith(50_000);
    const admin = await t.registerUser("ADMIN");
    const stranger = await buyerWith(0);
    const { order } = await orderOf(buyer, 20_000);
    const paid = (await t.post("/api/v1/payments/process", { orderId: order.id }, buyer)).body;
    expect((await t.get(`/api/v1/payments/${paid.id}`, buyer)).body.id).toBe(paid.id);
    expect((await t.get(`/api/v1/payments/${paid.id}`, admin)).status).toBe(200);
    expect((await t.get(`/api/v1/payments/${paid.id}`, stranger)).status).toBe(403);
    expect((await t.get(`/api/v1/payments/${Bun.randomUUIDv7()}`, buyer)).body.code).toBe("PAYMENT_NOT_FOUND");
  });
});
