import type { Coupon } from "../../src/domain/coupons/coupon";
import type { CouponStatus } from "../../src/domain/coupons/coupon-status";

export const NOW = new Date("2026-11-25T10:00:00.000Z");
const HOUR = 3600_000;
const at = (offsetMs: number) => new Date(NOW.getTime() + offsetMs);

/** A coupon as stored, open from an hour ago to an hour from NOW, with 10 units of which none issued. */
export function couponRecord(overrides: Partial<Coupon> = {}): Coupon {
  return {
    id: Bun.randomUUIDv7(),
    code: "TEST-COUPON",
    name: "Test coupon",
    issuerId: Bun.randomUUIDv7(),
    type: "PERCENTAGE",
    discountValue: 10,
    maxDiscountAmount: null,
    minOrderAmount: 0,
    totalQuantity: 10,
    issuedQuantity: 0,
    validFrom: at(-HOUR),
    validUntil: at(HOUR),
    suspendedAt: null,
    cancelledAt: null,
    version: 0,
    createdAt: at(-2 * HOUR),
    updatedAt: at(-2 * HOUR),
    ...overrides,
  };
}

/** A stored coupon whose status at NOW is `status`. */
export function couponIn(status: CouponStatus, overrides: Partial<Coupon> = {}): Coupon {
  const shapes: Record<CouponStatus, Partial<Coupon>> = {
    CREATED: { validFrom: at(HOUR), validUntil: at(2 * HOUR) },
    ACTIVE: { issuedQuantity: 3 },
    EXHAUSTED: { issuedQuantity: 10 },
    EXPIRED: { validFrom: at(-2 * HOUR), validUntil: at(-HOUR) },
    SUSPENDED: { suspendedAt: at(-HOUR / 2) },
    CANCELLED: { cancelledAt: at(-HOUR / 2) },
  };
  return couponRecord({ ...shapes[status], ...overrides });
}
