import { describe, expect, it } from "bun:test";
import {
  USER_COUPON_MACHINE,
  USER_COUPON_STATUSES,
  userCouponStatus,
} from "../../src/domain/coupons/user-coupon-status";

const ALLOWED = new Set(["ISSUED>USED", "ISSUED>EXPIRED", "USED>REFUNDED", "REFUNDED>USED", "REFUNDED>EXPIRED"]);
const pairs = USER_COUPON_STATUSES.flatMap((from) => USER_COUPON_STATUSES.map((to) => [from, to] as const));

describe("the user coupon state machine", () => {
  it.each(pairs)("%s → %s is allowed exactly when the contract says so", (from, to) => {
    expect(USER_COUPON_MACHINE.can(from, to)).toBe(ALLOWED.has(`${from}>${to}`));
  });

  it("lets ISSUED and REFUNDED coupons be used, and only USED ones be given back", () => {
    expect(USER_COUPON_MACHINE.sourcesOf("USED")).toEqual(["ISSUED", "REFUNDED"]);
    expect(USER_COUPON_MACHINE.sourcesOf("REFUNDED")).toEqual(["USED"]);
  });
});

describe("userCouponStatus", () => {
  const until = new Date("2026-11-25T10:00:00.000Z");
  const before = new Date(until.getTime() - 1);

  it("reads unused coupons as EXPIRED from validUntil on", () => {
    expect(userCouponStatus("ISSUED", until, before)).toBe("ISSUED");
    expect(userCouponStatus("ISSUED", until, until)).toBe("EXPIRED");
    expect(userCouponStatus("REFUNDED", until, until)).toBe("EXPIRED");
  });

  it("keeps a used coupon USED after the window ends", () => {
    expect(userCouponStatus("USED", until, new Date(until.getTime() + 1000))).toBe("USED");
  });
});
