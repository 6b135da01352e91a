/**
 * The state machine of a coupon held by a user (contract: "Coupons"). ISSUED and REFUNDED can be applied to
 * an order (→ USED); cancelling or refunding that order gives it back (USED → REFUNDED, usable again).
 * EXPIRED is read from the coupon's `validUntil`, not stored: an unused coupon past its window is EXPIRED on
 * every read without a job having to visit it.
 */
export const USER_COUPON_STATUSES = ["ISSUED", "USED", "EXPIRED", "REFUNDED"] as const;
export type UserCouponStatus = (typeof USER_COUPON_STATUSES)[number];

export const USER_COUPON_TRANSITIONS: Record<UserCouponStatus, readonly UserCouponStatus[]> = {
  ISSUED: ["USED", "EXPIRED"],
  USED: ["REFUNDED"],
  REFUNDED: ["USED", "EXPIRED"],
  EXPIRED: [],
};

/** The one check of the machine. */
export const canMoveUserCoupon = (from: UserCouponStatus, to: UserCouponStatus) =>
  USER_COUPON_TRANSITIONS[from].includes(to);

/** The statuses that may move to `to`: what a conditional `UPDATE … WHERE status IN (…)` accepts. */
export const statusesMovingTo = (to: UserCouponStatus): UserCouponStatus[] =>
  USER_COUPON_STATUSES.filter((from) => canMoveUserCoupon(from, to));

/** The status a holder sees: the stored one, or EXPIRED once the coupon's window has ended while unused. */
export function userCouponStatus(stored: UserCouponStatus, validUntil: Date, now: Date): UserCouponStatus {
  if (canMoveUserCoupon(stored, "EXPIRED") && now.getTime() >= validUntil.getTime()) return "EXPIRED";
  return stored;
}
