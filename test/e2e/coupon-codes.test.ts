import { afterAll, describe, expect, it } from "bun:test";
import { couponStatus } from "../../src/domain/coupons/coupon-status";
import type { Clock } from "../../src/domain/shared/clock";
import { createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";

/** Real time moved by `offsetMs`, to see the statuses coupons will have (or had). */
class ShiftedClock implements Clock {
  offsetMs = 0;
  now = () => new Date(Date.now() + this.offsetMs);
  sleep = (ms: number) => Bun.sleep(ms);
}

const clock = new ShiftedClock();
const t = await createTestApp({ clock });
afterAll(() => t.close());

const seller = await t.registerUser("SELLER");
const otherSeller = await t.registerUser("SELLER");
const buyer = await t.registerUser("BUYER");
const admin = await t.registerUser("ADMIN");
const HOUR = 3600_000;

const uniqueCode = () => `Drop-${crypto.randomUUID().slice(0, 8)}`;

describe("GET /api/v1/coupons/code/{code}", () => {
  it("finds a coupon by its code in any case, for any signed-in user", async () => {
    const code = uniqueCode();
    const coupon = await createCoupon(t, seller.token, { code });
    for (const typed of [code, code.toUpperCase(), code.toLowerCase()]) {
      const res = await t.get(`/api/v1/coupons/code/${typed}`, buyer);
      expect({ typed, status: res.status, id: res.body.id, code: res.body.code }).toEqual({
        typed,
        status: 200,
        id: coupon.id,
        code,
      });
    }
  });

  it("answers an unknown code with 404, a malformed one with 400, and no token with 401", async () => {
    expect((await t.get(`/api/v1/coupons/code/${uniqueCode()}`, buyer)).body.code).toBe("COUPON_NOT_FOUND");
    expect((await t.get("/api/v1/coupons/code/no%20spaces", buyer)).status).toBe(400);
    expect((await t.get(`/api/v1/coupons/code/${uniqueCode()}`)).status).toBe(401);
  });
});

describe("issuing by code", () => {
  for (const path of ["issue", "issue/limited"]) {
    it(`issues by code in any case on /${path}, once per user`, async () => {
      const code = uniqueCode();
      const coupon = await createCoupon(t, seller.token, { code, totalQuantity: 5 });
      const first = await t.post(`/api/v1/coupons/${path}`, { code: code.toUpperCase(), userId: buyer.user.id }, buyer);
      expect(first.status).toBe(201);
      expect(first.body).toMatchObject({ couponId: coupon.id, userId: buyer.user.id, status: "ISSUED" });
      const again = await t.post(`/api/v1/coupons/${path}`, { couponId: coupon.id, userId: buyer.user.id }, buyer);
      expect(again.body.code).toBe("COUPON_ALREADY_ISSUED");
      const byCodeAgain = await t.post(`/api/v1/coupons/${path}`, { code, userId: buyer.user.id }, buyer);
      expect(byCodeAgain.body.code).toBe("COUPON_ALREADY_ISSUED");
    });

    it(`answers both or neither of couponId and code with 400, an unknown code with 404 (/${path})`, async () => {
      const coupon = await createCoupon(t, seller.token);
      const both = await t.post(
        `/api/v1/coupons/${path}`,
        { couponId: coupon.id, code: coupon.code, userId: buyer.user.id },
        buyer,
      );
      expect({ status: both.status, code: both.body.code }).toEqual({ status: 400, code: "VALIDATION_FAILED" });
      const neither = await t.post(`/api/v1/coupons/${path}`, { userId: buyer.user.id }, buyer);
      expect({ status: neither.status, paths: neither.body.errors?.map((e: any) => e.path) }).toEqual({
        status: 400,
        paths: ["couponId", "code"],
      });
      const unknown = await t.post(`/api/v1/coupons/${path}`, { code: uniqueCode(), userId: buyer.user.id }, buyer);
      expect({ status: unknown.status, code: unknown.body.code }).toEqual({ status: 404, code: "COUPON_NOT_FOUND" });
    });
  }

  it("finds a coupon created after its code was first asked for", async () => {
    const code = uniqueCode();
    expect((await t.post("/api/v1/coupons/issue", { code, userId: buyer.user.id }, buyer)).status).toBe(404);
    await createCoupon(t, seller.token, { code });
    expect((await t.post("/api/v1/coupons/issue", { code, userId: buyer.user.id }, buyer)).status).toBe(201);
  });

  it("replays a keyed claim by code", async () => {
    const coupon = await createCoupon(t, seller.token);
    const key = { "Idempotency-Key": crypto.randomUUID() };
    const body = { code: coupon.code, userId: buyer.user.id };
    const first = await t.post("/api/v1/coupons/issue/limited", body, { token: buyer.token, headers: key });
    const replay = await t.post("/api/v1/coupons/issue/limited", body, { token: buyer.token, headers: key });
    expect(first.status).toBe(201);
    expect({ status: replay.status, id: replay.body.id }).toEqual({ status: 201, id: first.body.id });
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });
});

describe("GET /api/v1/coupons", () => {
  it("shows a seller its own coupons only, an admin anyone's, newest first and paged; a buyer 403", async () => {
    const mine = [];
    for (let i = 0; i < 3; i++) mine.push(await createCoupon(t, otherSeller.token));
    const theirs = await createCoupon(t, seller.token);
    const own = await t.get("/api/v1/coupons?size=100", otherSeller);
    expect(own.status).toBe(200);
    expect(own.body.items.map((c: any) => c.id)).toEqual(mine.map((c) => c.id).reverse());
    expect(own.body.total).toBe(3);
    const page2 = await t.get("/api/v1/coupons?size=2&page=2", otherSeller);
    expect(page2.body).toMatchObject({ page: 2, size: 2, total: 3 });
    expect(page2.body.items.map((c: any) => c.id)).toEqual([mine[0]!.id]);
    expect((await t.get(`/api/v1/coupons?issuerId=${seller.user.id}`, otherSeller)).status).toBe(403);
    const byAdmin = await t.get(`/api/v1/coupons?issuerId=${seller.user.id}&size=100`, admin);
    expect(byAdmin.body.items.map((c: any) => c.id)).toContain(theirs.id);
    expect(byAdmin.body.items.every((c: any) => c.issuerId === seller.user.id)).toBe(true);
    expect((await t.get("/api/v1/coupons?size=100", admin)).body.total).toBeGreaterThanOrEqual(4);
    const refused = await t.get("/api/v1/coupons", buyer);
    expect({ status: refused.status, code: refused.body.code }).toEqual({ status: 403, code: "FORBIDDEN" });
    expect((await t.get("/api/v1/coupons?status=LIVE", admin)).status).toBe(400);
  });

  it("filters by the status each coupon shows, at any moment", async () => {
    const issuer = await t.registerUser("SELLER");
    const now = Date.now();
    const window = (from: number, until: number) => ({
      validFrom: new Date(now + from).toISOString(),
      validUntil: new Date(now + until).toISOString(),
    });
    const active = await createCoupon(t, issuer.token, window(-HOUR, 2 * HOUR));
    await createCoupon(t, issuer.token, window(HOUR, 3 * HOUR)); // CREATED now
    const exhausted = await createCoupon(t, issuer.token, { ...window(-HOUR, 5 * HOUR), totalQuantity: 1 });
    await t.post("/api/v1/coupons/issue", { couponId: exhausted.id, userId: buyer.user.id }, buyer);
    const suspended = await createCoupon(t, issuer.token, window(-HOUR, 4 * HOUR));
    await t.post(`/api/v1/coupons/${suspended.id}/suspend`, undefined, issuer);
    const cancelled = await createCoupon(t, issuer.token, window(-HOUR, HOUR));
    await t.post(`/api/v1/coupons/${cancelled.id}/cancel`, undefined, issuer);
    expect(active.id).toBeString();

    // Now, and then as the windows end one after another (and before they began).
    for (const offset of [0, -2 * HOUR, 1.5 * HOUR, 2.5 * HOUR, 4.5 * HOUR, 10 * HOUR]) {
      clock.offsetMs = offset;
      const all = (await t.get("/api/v1/coupons?size=100", issuer)).body.items as any[];
      expect(all).toHaveLength(5);
      for (const status of ["CREATED", "ACTIVE", "EXHAUSTED", "EXPIRED", "SUSPENDED", "CANCELLED"]) {
        const listed = (await t.get(`/api/v1/coupons?status=${status}&size=100`, issuer)).body.items as any[];
        const expected = all.filter(
          (c) =>
            couponStatus(
              {
                ...c,
                validFrom: new Date(c.validFrom),
                validUntil: new Date(c.validUntil),
                suspendedAt: c.id === suspended.id ? new Date() : null,
                cancelledAt: c.id === cancelled.id ? new Date() : null,
              },
              clock.now(),
            ) === status,
        );
        expect({ offset, status, ids: listed.map((c) => c.id) }).toEqual({
          offset,
          status,
          ids: expected.map((c) => c.id),
        });
        // And each listed coupon shows that status itself.
        for (const coupon of listed) expect(coupon.status).toBe(status);
      }
    }
    clock.offsetMs = 0;
  });
});
