import { defineMachine, transitionsFrom } from "../shared/state-machine";

/**
 * The state machine of a coupon held by a user (contract: "Coupons"). ISSUED and REFUNDED can be applied to
 * an order (→ USED); cancelling or refunding that order gives it back (USED → REFUNDED, usable again).
 * EXPIRED is read from the coupon's `validUntil`, not stored: an unused coupon past its window is EXPIRED on
 * every read without a job having to visit it.
 */
export const USER_COUPON_STATUSES = ["ISSUED", "USED", "EXPIRED", "REFUNDED"] as const;
export type UserCouponStatus = (typeof USER_COUPON_STATUSES)[number];

export const USER_COUPON_MACHINE = defineMachine({
  name: "user coupon",
  statuses: USER_COUPON_STATUSES,
  transitions: transitionsFrom<UserCouponStatus>({
    ISSUED: ["USED", "EXPIRED"],
    USED: ["REFUNDED"],
    REFUNDED: ["USED", "EXPIRED"],
    EXPIRED: [],
  }),
});

/** The user coupon repository's conditional updates, their source statuses from the machine. */
export const USER_COUPON_MOVES = {
  /** Applied to an order. */
  use: USER_COUPON_MACHINE.move("USED"),
  /** Its order cancelled or refunded in full: usable again. */
  giveBack: USER_COUPON_MACHINE.move("REFUNDED"),
  /** Read, not stored: an unused coupon past its window is EXPIRED on every read. */
  expire: USER_COUPON_MACHINE.move("EXPIRED"),
} as const;

/** The status a holder sees: the stored one, or EXPIRED once the coupon's window has ended while unused. */
export function userCouponStatus(stored: UserCouponStatus, validUntil: Date, now: Date): UserCouponStatus {
  if (USER_COUPON_MACHINE.can(stored, "EXPIRED") && now.getTime() >= validUntil.getTime()) return "EXPIRED";
  return stored;
}
