import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { checkInvariants } from "../../src/infra/db/invariants";
import { startGateway } from "../support/gateway";
import { createTestApp } from "../support/harness";
import { placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// The checker's payment rules (issue 16): each seeds the broken state a dead process or a late answer
// would leave, and sees it reported; real flows report nothing.
const gateway = startGateway();
const t = await createTestApp({ env: { PAYMENT_GATEWAY_URL: gateway.url, PAYMENT_GATEWAY_TIMEOUT_MS: "300" } });
afterAll(async () => {
  await t.close();
  await gateway.stop();
});
beforeEach(() => {
  gateway.charge = "approve";
  gateway.lookup = "held";
});
const db = t.container.database.db;
const seller = await t.registerUser("SELLER");

const PAST_WINDOW = "a payment of unknown outcome is settled within 30 s of its send window closing";
const HELD_BY_FINAL =
  "an order is held only by a payment in flight: an unpaid order's final payment let it go or paid it";
const PAID_NOT_COMPLETED = "a paid order is held by its COMPLETED payment";
const REVERSAL_OF_FAILED = "a REVERSAL gives back exactly the debit of a FAILED payment, once";

/** An order of a product of its own, and the answer to paying it with the gateway as it is now. */
async function paidAttempt() {
  const buyer = await t.registerUser("BUYER");
  await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: 100_000 }, buyer);
  const shoe = await createProductVia(t, seller.token, { price: 20_000, stock: 3 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  const paid = await t.post("/api/v1/payments/process", { orderId: order.id }, buyer);
  return { shoe, order, payment: paid.body, status: paid.status };
}
const rulesBroken = async (productId: string) =>
  (await checkInvariants(db, { productIds: [productId] })).map((v) => v.rule);

describe("the checker's payment rules", () => {
  it("report nothing for paid, declined and in-flight payments", async () => {
    const paid = await paidAttempt();
    expect(paid.status).toBe(200);
    gateway.charge = "decline";
    const declined = await paidAttempt();
    expect(declined.status).toBe(402);
    gateway.charge = "error";
    const inFlight = await paidAttempt();
    expect(inFlight.status).toBe(202);
    for (const { shoe } of [paid, declined, inFlight]) expect(await rulesBroken(shoe.id)).toEqual([]);
  });

  it("report a payment left GATEWAY_REQUESTED 30 s past its send window, not one whose window just closed", async () => {
    gateway.charge = "error";
    const { shoe, payment } = await paidAttempt();
    await db.execute(
      sql`update payments set charge_window_ends_at = now() - interval '5 seconds' where id = ${payment.id}`,
    );
    expect(await rulesBroken(shoe.id)).toEqual([]);
    await db.execute(
      sql`update payments set charge_window_ends_at = now() - interval '31 seconds' where id = ${payment.id}`,
    );
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([PAST_WINDOW]);
    expect(violations[0]?.detail).toContain(payment.id);
  });

  it("report an unpaid order still held by a payment that failed (the hold never let go)", async () => {
    gateway.charge = "error";
    const { shoe, order, payment } = await paidAttempt();
    await db.execute(sql`update payments set status = 'FAILED' where id = ${payment.id}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toContain(HELD_BY_FINAL);
    expect(violations.find((v) => v.rule === HELD_BY_FINAL)?.detail).toContain(order.id);
  });

  it("report an unpaid order held by a COMPLETED payment (the order was never confirmed)", async () => {
    gateway.charge = "error";
    const { shoe, payment } = await paidAttempt();
    await db.execute(sql`update payments set status = 'COMPLETED' where id = ${payment.id}`);
    expect(await rulesBroken(shoe.id)).toContain(HELD_BY_FINAL);
  });

  it("report a paid order whose payment is not COMPLETED, or that no payment holds", async () => {
    const first = await paidAttempt();
    expect(first.status).toBe(200);
    await db.execute(sql`update orders set payment_id = null where id = ${first.order.id}`);
    expect(await rulesBroken(first.shoe.id)).toEqual([PAID_NOT_COMPLETED]);

    const second = await paidAttempt();
    await db.execute(sql`update payments set status = 'GATEWAY_REQUESTED' where id = ${second.payment.id}`);
    expect(await rulesBroken(second.shoe.id)).toContain(PAID_NOT_COMPLETED);
  });

  it("report a REVERSAL of a payment that did not fail, and a second REVERSAL of a declined one", async () => {
    const paid = await paidAttempt();
    // A REVERSAL a bug would write: the balance moves with it, so only the REVERSAL rule can see it.
    const reverse = async (payment: { id: string; userId: string; amount: number }) => {
      await db.execute(sql`update balances set balance = balance + ${payment.amount}, version = version + 1
        where user_id = ${payment.userId}::uuid`);
      await db.execute(sql`insert into balance_ledger (id, user_id, type, amount, balance_after, balance_version, reference_id)
        select gen_random_uuid(), user_id, 'REVERSAL', ${payment.amount}, balance, version, ${payment.id}
        from balances where user_id = ${payment.userId}::uuid`);
    };
    await reverse(paid.payment);
    expect(await rulesBroken(paid.shoe.id)).toContain(REVERSAL_OF_FAILED);

    gateway.charge = "decline";
    const declined = await paidAttempt();
    expect(declined.status).toBe(402);
    expect(await rulesBroken(declined.shoe.id)).not.toContain(REVERSAL_OF_FAILED);
    const [failed] = rowsOf<{ id: string; user_id: string; amount: number }>(
      await db.execute(sql`select id, user_id, amount from payments where id = ${declined.payment.paymentId}`),
    );
    await reverse({ id: failed!.id, userId: failed!.user_id, amount: Number(failed!.amount) });
    expect(await rulesBroken(declined.shoe.id)).toContain(REVERSAL_OF_FAILED);
  });
});
