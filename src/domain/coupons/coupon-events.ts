import type { NewOutboxEvent } from "../outbox/ports";
import type { Coupon, UserCoupon } from "./coupon";
import type { IssuePath } from "./ports";

/** COUPON_CREATED, aggregate: the coupon. */
export const couponCreated = (coupon: Coupon): NewOutboxEvent<"coupon"> => ({
  aggregateId: coupon.id,
  type: "COUPON_CREATED",
  payload: {
    couponId: coupon.id,
    code: coupon.code,
    issuerId: coupon.issuerId,
    type: coupon.type,
    discountValue: coupon.discountValue,
    maxDiscountAmount: coupon.maxDiscountAmount,
    minOrderAmount: coupon.minOrderAmount,
    totalQuantity: coupon.totalQuantity,
    validFrom: coupon.validFrom.toISOString(),
    validUntil: coupon.validUntil.toISOString(),
  },
});

/**
 * COUPON_ISSUED. Its aggregate is the user coupon, like COUPON_USED and COUPON_RESTORED after it, so one
 * holder's history is delivered in order (the row's lock orders its writers).
 */
export const couponIssued = (userCoupon: UserCoupon, path: IssuePath): NewOutboxEvent<"coupon"> => ({
  aggregateId: userCoupon.id,
  type: "COUPON_ISSUED",
  payload: {
    userCouponId: userCoupon.id,
    couponId: userCoupon.couponId,
    userId: userCoupon.userId,
    path,
    issuedAt: userCoupon.issuedAt.toISOString(),
  },
});
