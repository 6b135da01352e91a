import { afterAll, describe, expect, it } from "bun:test";
import { asc, eq } from "drizzle-orm";
import { CouponRedemption, type RedemptionRejection } from "../../src/domain/coupons/coupon-redemption";
import { DrizzleOutboxWriter } from "../../src/infra/db/repositories/outbox-repository";
import { DrizzleUserCouponRepository } from "../../src/infra/db/repositories/user-coupon-repository";
import { couponEvents } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { systemClock } from "../../src/infra/system-clock";
import { createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";
import { anOrderOf } from "../support/orders";

// Coupons are made and issued over HTTP; the service the ordering context calls inside its own
// transaction is built here on the same database, with the unit of work an order would share with it.
const t = await createTestApp();
afterAll(() => t.close());

const transactions = new Transactions(t.container.database.db);
const redemption = new CouponRedemption({
  userCoupons: new DrizzleUserCouponRepository(transactions),
  unitOfWork: transactions,
  outbox: new DrizzleOutboxWriter(transactions, () => Bun.randomUUIDv7()),
  clock: systemClock,
});
const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");

async function heldCoupon(overrides: Record<string, unknown> = {}) {
  const buyer = await t.registerUser("BUYER");
  const coupon = await createCoupon(t, seller.token, overrides);
  const res = await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: buyer.user.id }, buyer);
  if (res.status !== 201) throw new Error(`issue failed: ${res.status}`);
  return { buyer, coupon, userCouponId: res.body.id as string };
}

const statusOf = async (buyer: { user: { id: string }; token: string }, userCouponId: string) => {
  const list = await t.get(`/api/v1/coupons/user/${buyer.user.id}`, buyer);
  return list.body.items.find((item: { id: string }) => item.id === userCouponId);
};

const eventTypesOf = async (userCouponId: string) =>
  (
    await t.container.database.db
      .select()
      .from(couponEvents)
      .where(eq(couponEvents.aggregateId, userCouponId))
      .orderBy(asc(couponEvents.seq))
  ).map((event) => event.type);

describe("redeemForOrder", () => {
  it("applies the discount, marks the coupon USED with its order and records COUPON_USED", async () => {
    const { buyer, userCouponId } = await heldCoupon({ discountValue: 15, maxDiscountAmount: 30_000 });
    const orderId = await anOrderOf(t, buyer);
    const result = await redemption.redeemForOrder({ userCouponId, userId: buyer.user.id, orderId, subtotal: 129_000 });
    expect(result).toEqual({ applied: true, discountAmount: 19_350, userCouponId });
    expect(await statusOf(buyer, userCouponId)).toMatchObject({ status: "USED", orderId, usedAt: expect.any(String) });
    expect(await eventTypesOf(userCouponId)).toEqual(["COUPON_ISSUED", "COUPON_USED"]);
  });

  it("caps a FIXED discount at the subtotal", async () => {
    const { buyer, userCouponId } = await heldCoupon({ type: "FIXED", discountValue: 50_000, maxDiscountAmount: null });
    const result = await redemption.redeemForOrder({
      userCouponId,
      userId: buyer.user.id,
      orderId: await anOrderOf(t, buyer),
      subtotal: 30_000,
    });
    expect(result).toMatchObject({ applied: true, discountAmount: 30_000 });
  });

  it.each([
    ["NOT_FOUND", "an unknown user coupon"],
    ["NOT_FOUND", "an id that is not a UUID"],
    ["NOT_OWNED", "another user's coupon"],
    ["NOT_USABLE", "a coupon already used"],
    ["EXPIRED", "a coupon past its window"],
    ["NOT_ACTIVE", "a suspended coupon"],
    ["NOT_ACTIVE", "a cancelled coupon"],
    ["BELOW_MIN_ORDER_AMOUNT", "a subtotal under the minimum"],
  ] as [RedemptionRejection, string][])("refuses with %s for %s, without throwing", async (reason, what) => {
    const expiring = what.includes("past its window");
    // Far enough ahead to outlast making the buyer and the coupon on a loaded machine, then waited out.
    const validUntil = Date.now() + 5000;
    const { buyer, coupon, userCouponId } = await heldCoupon({
      minOrderAmount: 50_000,
      ...(expiring ? { validUntil: new Date(validUntil).toISOString() } : {}),
    });
    const request = { userCouponId, userId: buyer.user.id, orderId: await anOrderOf(t, buyer), subtotal: 100_000 };
    if (what === "an unknown user coupon") request.userCouponId = Bun.randomUUIDv7();
    if (what === "an id that is not a UUID") request.userCouponId = "coupon-1";
    if (what === "another user's coupon") request.userId = admin.user.id;
    if (what === "a coupon already used") {
      expect((await redemption.redeemForOrder({ ...request, orderId: await anOrderOf(t, buyer) })).applied).toBe(true);
    }
    if (expiring) await Bun.sleep(Math.max(0, validUntil - Date.now() + 200));
    if (what === "a suspended coupon") await t.post(`/api/v1/coupons/${coupon.id}/suspend`, undefined, seller);
    if (what === "a cancelled coupon") await t.post(`/api/v1/coupons/${coupon.id}/cancel`, undefined, seller);
    if (what === "a subtotal under the minimum") request.subtotal = 49_999;
    expect(await redemption.redeemForOrder(request)).toEqual({ applied: false, reason });
  });

  it("lets exactly one of 5 concurrent orders use the coupon", async () => {
    const { buyer, userCouponId } = await heldCoupon();
    const orderIds = await Promise.all(Array.from({ length: 5 }, () => anOrderOf(t, buyer)));
    const results = await Promise.all(
      orderIds.map((orderId) =>
        redemption.redeemForOrder({ userCouponId, userId: buyer.user.id, orderId, subtotal: 100_000 }),
      ),
    );
    expect(results.filter((r) => r.applied)).toHaveLength(1);
    expect(results.filter((r) => !r.applied).map((r) => !r.applied && r.reason)).toEqual(Array(4).fill("NOT_USABLE"));
    expect((await eventTypesOf(userCouponId)).filter((type) => type === "COUPON_USED")).toHaveLength(1);
  });

  it("joins the order's transaction: if the order rolls back, the coupon stays usable", async () => {
    const { buyer, userCouponId } = await heldCoupon();
    const orderId = await anOrderOf(t, buyer);
    const attempt = transactions.withTransaction(async () => {
      const result = await redemption.redeemForOrder({
        userCouponId,
        userId: buyer.user.id,
        orderId,
        subtotal: 90_000,
      });
      expect(result.applied).toBe(true);
      throw new Error("stock ran out after the coupon was applied");
    });
    await expect(attempt).rejects.toThrow("stock ran out");
    expect(await statusOf(buyer, userCouponId)).toMatchObject({ status: "ISSUED", orderId: null });
    expect(await eventTypesOf(userCouponId)).toEqual(["COUPON_ISSUED"]);
  });
});

describe("restoreForOrder", () => {
  it("gives the coupon back once (USED → REFUNDED, usable again) and records COUPON_RESTORED once", async () => {
    const { buyer, userCouponId } = await heldCoupon();
    const orderId = await anOrderOf(t, buyer);
    await redemption.redeemForOrder({ userCouponId, userId: buyer.user.id, orderId, subtotal: 100_000 });
    const [first, second] = await Promise.all([
      redemption.restoreForOrder(orderId),
      redemption.restoreForOrder(orderId),
    ]);
    expect([first, second]).toContainEqual({ restored: true, userCouponId });
    expect([first, second]).toContainEqual({ restored: false });
    expect(await redemption.restoreForOrder(orderId)).toEqual({ restored: false });
    expect(await statusOf(buyer, userCouponId)).toMatchObject({ status: "REFUNDED", orderId: null, usedAt: null });
    expect(await eventTypesOf(userCouponId)).toEqual(["COUPON_ISSUED", "COUPON_USED", "COUPON_RESTORED"]);
    // Usable again, by another order.
    const again = await redemption.redeemForOrder({
      userCouponId,
      userId: buyer.user.id,
      orderId: await anOrderOf(t, buyer),
      subtotal: 100_000,
    });
    expect(again.applied).toBe(true);
  });

  it("restores nothing for an order that used no coupon", async () => {
    expect(await redemption.restoreForOrder(Bun.randomUUIDv7())).toEqual({ restored: false });
  });
});
