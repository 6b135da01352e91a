import { describe, expect, it } from "bun:test";
import type { NewCoupon } from "../../src/domain/coupons/coupon";
import { newCouponProblems } from "../../src/domain/coupons/coupon-service";
import { discountFor } from "../../src/domain/coupons/discount";

describe("discountFor", () => {
  const percentage = (rate: number, cap: number | null = null) =>
    ({ type: "PERCENTAGE", discountValue: rate, maxDiscountAmount: cap }) as const;
  const fixed = (amount: number) => ({ type: "FIXED", discountValue: amount, maxDiscountAmount: null }) as const;

  it.each([
    [percentage(10), 129_000, 12_900],
    [percentage(15), 99_999, 14_999], // floor(14999.85)
    [percentage(33), 1, 0],
    [percentage(100), 50_000, 50_000],
    [percentage(20, 30_000), 500_000, 30_000],
    [percentage(20, 30_000), 100_000, 20_000],
    [fixed(5_000), 129_000, 5_000],
    [fixed(5_000), 3_000, 3_000],
    [fixed(5_000), 0, 0],
  ])("%o on a subtotal of %d takes %d off", (coupon, subtotal, discount) => {
    expect(discountFor(coupon, subtotal)).toBe(discount);
  });

  it.each([-1, 10.5, Number.NaN])("refuses a subtotal of %d", (subtotal) => {
    expect(() => discountFor(percentage(10), subtotal)).toThrow(RangeError);
  });
});

describe("newCouponProblems", () => {
  const now = new Date("2026-11-25T10:00:00.000Z");
  const valid: NewCoupon = {
    code: "DROP-1",
    name: "Drop",
    type: "PERCENTAGE",
    discountValue: 10,
    totalQuantity: 100,
    validFrom: now,
    validUntil: new Date(now.getTime() + 3600_000),
  };
  const pathsOf = (changes: Partial<NewCoupon>) => newCouponProblems({ ...valid, ...changes }, now).map((p) => p.path);

  it("accepts a well-formed coupon", () => {
    expect(pathsOf({})).toEqual([]);
    expect(pathsOf({ type: "FIXED", discountValue: 5000 })).toEqual([]);
    expect(pathsOf({ maxDiscountAmount: 30_000 })).toEqual([]);
  });

  it.each([
    [{ discountValue: 101 }, "discountValue"],
    [{ discountValue: 0 }, "discountValue"],
    [{ type: "FIXED" as const, discountValue: 0 }, "discountValue"],
    [{ type: "FIXED" as const, discountValue: 5000, maxDiscountAmount: 100 }, "maxDiscountAmount"],
    [{ maxDiscountAmount: 0 }, "maxDiscountAmount"],
    [{ validUntil: now }, "validUntil"],
    [{ validFrom: new Date(now.getTime() - 7200_000), validUntil: new Date(now.getTime() - 3600_000) }, "validUntil"],
  ])("refuses %o at %s", (changes, path) => {
    expect(pathsOf(changes)).toEqual([path]);
  });
});
