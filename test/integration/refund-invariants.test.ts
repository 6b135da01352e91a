import { afterAll, beforeEach, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import { checkInvariants } from "../../src/infra/db/invariants";
import { startGateway } from "../support/gateway";
import { createTestApp, type TestApp } from "../support/harness";
import { payOrder, placeOrder } from "../support/orders";
import { createProductVia } from "../support/products";

// The checker's refund rules, each shown the broken state it is there to report.
const gateway = startGateway();
const t = await createTestApp({
  env: { PAYMENT_GATEWAY_URL: gateway.url, PAYMENT_GATEWAY_TIMEOUT_MS: "1000", RETRY_BASE_DELAY_MS: "1" },
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

async function paidOrder(price = 10_000) {
  const buyer = await t.registerUser("BUYER");
  const shoe = await createProductVia(t, seller.token, { price, stock: 3 });
  const order = await placeOrder(t, buyer.token, buyer.user.id, [{ productId: shoe.id, quantity: 1 }]);
  await payOrder(t, buyer, order.id);
  return { buyer, shoe, order };
}
const refund = (orderId: string, who: Who, fields: Record<string, unknown> = {}, key?: string) =>
  t.post(
    "/api/v1/refunds",
    { orderId, reason: "checker", ...fields },
    { token: who.token, headers: key ? { "Idempotency-Key": key } : {} },
  );
const rulesBroken = async (productId: string) =>
  (await checkInvariants(db, { productIds: [productId] })).map((v) => v.rule);

const OVERDUE = "a refund not final is tried again by its due time (none held past its lease or backoff)";
const CREDITED =
  "a REFUNDED refund is credited once, exactly its amount, to its buyer; no refund not REFUNDED is credited";
const REFUND_ROWS = "every REFUND in a buyer's ledger names a refund of theirs (or, before REVERSAL, a failed payment)";
const ONE_PER_REQUEST =
  "one refund request (requester and Idempotency-Key) makes one refund, the one its stored answer names";

describe("the invariant checker on refunds", () => {
  it("finds nothing wrong with a refund waiting for its backoff or held by a live try", async () => {
    const { buyer, shoe, order } = await paidOrder();
    gateway.refundFailures = 1;
    const failed = await refund(order.id, buyer, { amount: 1_000 }, crypto.randomUUID());
    expect(failed.body.status).toBe("FAILED");
    await db.execute(
      sql`update refunds set next_attempt_at = now() + interval '5 minutes' where id = ${failed.body.id}`,
    );
    expect(await rulesBroken(shoe.id)).toEqual([]);
    await db.execute(sql`update refunds set status = 'PROCESSING', next_attempt_at = now() + interval '1 minute'
      where id = ${failed.body.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([]);
  });

  it("reports a refund held past its lease, past its backoff, or left REFUND_REQUESTED", async () => {
    const { buyer, shoe, order } = await paidOrder();
    gateway.refundFailures = 1;
    const stuck = await refund(order.id, buyer, { amount: 1_000 });
    // A try whose process died and that no instance took over.
    await db.execute(sql`update refunds set status = 'PROCESSING', next_attempt_at = now() - interval '10 minutes'
      where id = ${stuck.body.id}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([OVERDUE]);
    expect(violations[0]?.detail).toContain(stuck.body.id);

    // Failed, its backoff long over, never tried again.
    await db.execute(sql`update refunds set status = 'FAILED' where id = ${stuck.body.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([OVERDUE]);
    // Recorded and never claimed (what a process killed between the two left before the fix).
    await db.execute(sql`update refunds set status = 'REFUND_REQUESTED', attempts = 0, next_attempt_at = null,
      created_at = now() - interval '10 minutes' where id = ${stuck.body.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([OVERDUE]);
    // MANUAL is final: a person has it.
    await db.execute(sql`update refunds set status = 'MANUAL' where id = ${stuck.body.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([]);
  });

  it("reports a keyed refund request whose stored answer names another refund than the one it made", async () => {
    const { buyer, shoe, order } = await paidOrder();
    const key = crypto.randomUUID();
    const keyed = await refund(order.id, buyer, { amount: 1_000 }, key);
    const other = await refund(order.id, buyer, { amount: 2_000 });
    expect([keyed.status, other.status]).toEqual([201, 201]);
    expect(await rulesBroken(shoe.id)).toEqual([]);
    // One request, two refunds: the key answered with a second refund while the first carries the key.
    await db.execute(sql`update idempotency_keys set response_body = ${JSON.stringify(other.body)}
      where key = ${key}`);
    const violations = await checkInvariants(db, { productIds: [shoe.id] });
    expect(violations.map((v) => v.rule)).toEqual([ONE_PER_REQUEST]);
    expect(violations[0]?.detail).toContain(key);
  });

  it("reports two refunds carrying one request's key", async () => {
    const { buyer, shoe, order } = await paidOrder();
    const key = crypto.randomUUID();
    const first = await refund(order.id, buyer, { amount: 1_000 }, key);
    const second = await refund(order.id, buyer, { amount: 1_000 });
    expect(await rulesBroken(shoe.id)).toEqual([]);
    // The unique index on (requester, key) keeps this from happening while both are known; it does not cover
    // rows whose requester is unknown (NULLs are distinct to it: rows from before the column, a bad restore),
    // and the checker must see two refunds of one request whatever let them through.
    await db.execute(
      sql`update refunds set idempotency_key = ${key}, requested_by = null where id = ${second.body.id}`,
    );
    await db.execute(sql`update refunds set requested_by = null where id = ${first.body.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([ONE_PER_REQUEST]);
  });

  it("reports a landed refund its buyer was never credited, and a REFUND row that names no refund", async () => {
    const { buyer, shoe, order } = await paidOrder();
    const landed = await refund(order.id, buyer, { amount: 4_000 });
    expect(landed.body.status).toBe("REFUNDED");
    expect(await rulesBroken(shoe.id)).toEqual([]);
    // The credit lost its refund: the balance still adds up to its ledger, and the order to its refunds.
    await db.execute(
      sql`update balance_ledger set reference_id = ${crypto.randomUUID()} where reference_id = ${landed.body.id}`,
    );
    expect((await rulesBroken(shoe.id)).sort()).toEqual([CREDITED, REFUND_ROWS].sort());
  });

  it("reports a refund credited twice, or for another amount than it returned", async () => {
    const { buyer, shoe, order } = await paidOrder();
    const landed = await refund(order.id, buyer, { amount: 4_000 });
    // The ledger row and the balance moved together (the balance still adds up to its ledger).
    await db.execute(sql`update balance_ledger set amount = amount + 1, balance_after = balance_after + 1
      where reference_id = ${landed.body.id}`);
    await db.execute(sql`update balances set balance = balance + 1 where user_id = ${buyer.user.id}`);
    expect(await rulesBroken(shoe.id)).toEqual([CREDITED]);
  });
});
