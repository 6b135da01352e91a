import { afterAll, describe, expect, it } from "bun:test";
import * as routes from "../../src/routes/coupons/coupons.routes";
import { createCoupon } from "../support/coupons";
import { createTestApp } from "../support/harness";

const t = await createTestApp();
afterAll(() => t.close());

describe("coupon metrics", () => {
  it("count issue outcomes by path and result", async () => {
    const seller = await t.registerUser("SELLER");
    const coupon = await createCoupon(t, seller.token, { totalQuantity: 1 });
    const [a, b] = [await t.registerUser("BUYER"), await t.registerUser("BUYER")];
    await t.post("/api/v1/coupons/issue", { couponId: coupon.id, userId: a.user.id }, a);
    await t.post("/api/v1/coupons/issue/limited", { couponId: coupon.id, userId: a.user.id }, a);
    await t.post("/api/v1/coupons/issue/limited", { couponId: coupon.id, userId: b.user.id }, b);
    await t.post("/api/v1/coupons/issue/limited", { couponId: Bun.randomUUIDv7(), userId: b.user.id }, b);
    const metrics = (await t.get("/metrics")).body as string;
    expect(metrics).toContain('coupon_issue_total{path="database",result="issued"} 1');
    expect(metrics).toContain('coupon_issue_total{path="limited",result="already_issued"} 1');
    expect(metrics).toContain('coupon_issue_total{path="limited",result="sold_out"} 1');
    expect(metrics).toContain('coupon_issue_total{path="limited",result="not_found"} 1');
    expect(metrics).toContain("coupon_state_builds_total 1");
  });
});

const doc = (await t.get("/openapi.json")).body;

describe("the coupon routes in the OpenAPI document", () => {
  const operations = Object.values(doc.paths as Record<string, Record<string, any>>).flatMap((item) =>
    Object.values(item),
  );
  const byId = new Map(operations.map((op) => [op.operationId, op]));

  it.each(Object.keys(routes).filter((name) => !name.endsWith("Route")))(
    "documents %s under its own name as operationId",
    (name) => {
      expect(byId.get(name)).toBeDefined();
      expect(byId.get(name).tags).toEqual(["Coupons"]);
    },
  );

  it("names its schemas and gives them examples", () => {
    for (const name of ["Coupon", "CreateCoupon", "IssueCoupon", "UserCoupon", "UserCouponPage"]) {
      expect(doc.components.schemas[name]).toBeDefined();
    }
    expect(doc.components.schemas.CreateCoupon.properties.code.example).toBe("DROP-JORDAN1-2026");
  });

  it("lists every refusal the issue routes can answer", () => {
    const limited = byId.get("issueLimitedCoupon");
    const described = JSON.stringify(limited.responses);
    for (const code of [
      "VALIDATION_FAILED",
      "UNAUTHENTICATED",
      "FORBIDDEN",
      "COUPON_NOT_FOUND",
      "USER_NOT_FOUND",
      "COUPON_ALREADY_ISSUED",
      "COUPON_SOLD_OUT",
      "COUPON_NOT_ACTIVE",
      "IDEMPOTENCY_KEY_IN_USE",
      "IDEMPOTENCY_KEY_REUSED",
      "UNAVAILABLE",
    ]) {
      expect(described).toContain(code);
    }
    expect(Object.keys(limited.responses)).toEqual(
      expect.arrayContaining(["201", "400", "401", "403", "404", "409", "422", "500", "503"]),
    );
    expect(JSON.stringify(byId.get("suspendCoupon").responses)).toContain("INVALID_COUPON_TRANSITION");
  });
});
