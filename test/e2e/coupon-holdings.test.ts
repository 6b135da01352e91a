import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { createCoupon } from "../support/coupons";
import { createTestApp, openTestDatabase } from "../support/harness";
import { anOrderOf } from "../support/orders";
import { countingDatabase } from "../support/query-counter";

// One test waits for a validity window to end: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

const counting = countingDatabase(openTestDatabase());
const t = await createTestApp({ database: counting.database });
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const admin = await t.registerUser("ADMIN");

async function holderOf(count: number, overrides: Record<string, unknown> = {}) {
  const buyer = await t.registerUser("BUYER");
  const held: string[] = [];
  for (let i = 0; i < count; i++) {
    const coupon = await createCoupon(t, seller.token, overrides);
    const res = await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: buyer.user.id }, buyer);
    expect(res.status).toBe(201);
    held.push(res.body.id);
  }
  return { ...buyer, held };
}

describe("GET /api/v1/coupons/user/{userId}", () => {
  it("lists the holder's coupons newest first, each with its coupon, from one query", async () => {
    const buyer = await holderOf(3);
    const { statements, result: res } = await counting.count(() =>
      t.get(`/api/v1/coupons/user/${buyer.user.id}`, buyer),
    );
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ page: 1, size: 20, total: 3 });
    expect(res.body.items.map((item: { id: string }) => item.id)).toEqual([...buyer.held].reverse());
    expect(res.body.items[0]).toMatchObject({
      userId: buyer.user.id,
      status: "ISSUED",
      usedAt: null,
      orderId: null,
      coupon: { issuerId: seller.user.id, status: "ACTIVE", issuedQuantity: 1 },
    });
    // No N+1: the coupons come with the holdings, whatever their number.
    expect(statements).toBe(1);
  });

  it("filters by status, reading unused coupons past their window as EXPIRED", async () => {
    const buyer = await holderOf(1, { validUntil: new Date(Date.now() + 1500).toISOString() });
    const active = await createCoupon(t, seller.token);
    const issued = await t.post("/api/v1/coupons/issue", { couponId: active.id, userId: buyer.user.id }, buyer);
    const redemption = await t.container.services.couponRedemption.redeemForOrder({
      userCouponId: issued.body.id,
      userId: buyer.user.id,
      orderId: await anOrderOf(t, buyer),
      subtotal: 100_000,
    });
    expect(redemption.applied).toBe(true);
    await Bun.sleep(1700);
    const statusOf = async (status: string) =>
      (await t.get(`/api/v1/coupons/user/${buyer.user.id}?status=${status}`, buyer)).body.items.map(
        (item: { id: string; status: string }) => [item.id, item.status],
      );
    expect(await statusOf("EXPIRED")).toEqual([[buyer.held[0], "EXPIRED"]]);
    expect(await statusOf("USED")).toEqual([[issued.body.id, "USED"]]);
    expect(await statusOf("ISSUED")).toEqual([]);
    const all = await t.get(`/api/v1/coupons/user/${buyer.user.id}`, buyer);
    expect(all.body.total).toBe(2);
  });

  it("pages with page and size", async () => {
    const buyer = await holderOf(3);
    const second = await t.get(`/api/v1/coupons/user/${buyer.user.id}?page=2&size=2`, buyer);
    expect(second.body).toMatchObject({ page: 2, size: 2, total: 3 });
    expect(second.body.items.map((item: { id: string }) => item.id)).toEqual([buyer.held[0]]);
    const beyond = await t.get(`/api/v1/coupons/user/${buyer.user.id}?page=5&size=2`, buyer);
    expect(beyond.body).toMatchObject({ items: [], total: 3 });
  });

  it("forbids another buyer, lets an ADMIN look, and answers 404 for an unknown user", async () => {
    const buyer = await holderOf(1);
    const other = await t.registerUser("BUYER");
    const forbidden = await t.get(`/api/v1/coupons/user/${buyer.user.id}`, other);
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe("FORBIDDEN");
    expect((await t.get(`/api/v1/coupons/user/${buyer.user.id}`, admin)).body.total).toBe(1);
    expect((await t.get(`/api/v1/coupons/user/${other.user.id}`, admin)).body).toMatchObject({ items: [], total: 0 });
    const unknown = await t.get(`/api/v1/coupons/user/${Bun.randomUUIDv7()}`, admin);
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe("USER_NOT_FOUND");
  });

  it.each(["status=LOST", "size=0", "page=x"])("refuses %s with 400", async (query) => {
    const buyer = await t.registerUser("BUYER");
    const res = await t.get(`/api/v1/coupons/user/${buyer.user.id}?${query}`, buyer);
    expect(res.status).toBe(400);
    expect(res.body.code).toBe("VALIDATION_FAILED");
  });
});
