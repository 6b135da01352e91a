import type { Coupon, CouponView, HeldCoupon, HeldCouponView } from "./coupon";
import { couponStatus } from "./coupon-status";
import { userCouponStatus } from "./user-coupon-status";

/** A coupon with its status and remaining units as of `now`. */
export const toCouponView = (coupon: Coupon, now: Date): CouponView => ({
  ...coupon,
  status: couponStatus(coupon, now),
  remainingQuantity: coupon.totalQuantity - coupon.issuedQuantity,
});

/** A held coupon with the status its holder sees as of `now` (EXPIRED once the window has ended unused). */
export const toHeldCouponView = ({ coupon, ...held }: HeldCoupon, now: Date): HeldCouponView => ({
  ...held,
  status: userCouponStatus(held.status, coupon.validUntil, now),
  coupon: toCouponView(coupon, now),
});
