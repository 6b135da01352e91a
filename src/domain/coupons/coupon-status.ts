import { DomainError } from "../shared/errors";
import { defineMachine, transitionsFrom } from "../shared/state-machine";
import type { Coupon } from "./coupon";

/**
 * The coupon's state machine (contract: "Coupons"). The status is derived, never stored: from the lifecycle
 * markers, the validity window and the issue count, as of one instant. So every read and every issue path
 * gives the same answer, and time-driven moves (CREATED → ACTIVE at `validFrom`, → EXPIRED at `validUntil`)
 * need no job to happen.
 */
export const COUPON_STATUSES = ["CREATED", "ACTIVE", "EXHAUSTED", "EXPIRED", "SUSPENDED", "CANCELLED"] as const;
export type CouponStatus = (typeof COUPON_STATUSES)[number];

/**
 * Every move a coupon's status can make. Issuer actions: suspend (→ SUSPENDED), resume (SUSPENDED → whatever
 * the window and count say), cancel (→ CANCELLED). The clock moves CREATED → ACTIVE and anything still
 * open → EXPIRED; issuing the last unit moves ACTIVE → EXHAUSTED. EXPIRED and CANCELLED are final.
 */
export const COUPON_MACHINE = defineMachine({
  name: "coupon",
  statuses: COUPON_STATUSES,
  transitions: transitionsFrom<CouponStatus>({
    CREATED: ["ACTIVE", "EXPIRED", "SUSPENDED", "CANCELLED"],
    ACTIVE: ["EXHAUSTED", "EXPIRED", "SUSPENDED", "CANCELLED"],
    EXHAUSTED: ["EXPIRED", "SUSPENDED", "CANCELLED"],
    SUSPENDED: ["CREATED", "ACTIVE", "EXHAUSTED", "EXPIRED", "CANCELLED"],
    EXPIRED: [],
    CANCELLED: [],
  }),
  // `action` names the issuer's move in the message ("Cannot suspend a coupon that is EXPIRED").
  refuse: ({ from, action = "change" }) =>
    new DomainError("INVALID_COUPON_TRANSITION", `Cannot ${action} a coupon that is ${from}`),
});

type StatusInputs = Pick<
  Coupon,
  "validFrom" | "validUntil" | "suspendedAt" | "cancelledAt" | "issuedQuantity" | "totalQuantity"
>;

/**
 * Precedence: a cancelled coupon stays CANCELLED; a window that has ended is EXPIRED even if it was suspended
 * (nothing can resume it); then SUSPENDED, CREATED (before `validFrom`), EXHAUSTED, ACTIVE. The window is
 * `validFrom <= now < validUntil`, exactly as the Redis claim script reads it.
 */
export function couponStatus(coupon: StatusInputs, now: Date): CouponStatus {
  const at = now.getTime();
  if (coupon.cancelledAt) return "CANCELLED";
  if (at >= coupon.validUntil.getTime()) return "EXPIRED";
  if (coupon.suspendedAt) return "SUSPENDED";
  if (at < coupon.validFrom.getTime()) return "CREATED";
  if (coupon.issuedQuantity >= coupon.totalQuantity) return "EXHAUSTED";
  return "ACTIVE";
}

export type IssueRefusal = "COUPON_NOT_ACTIVE" | "COUPON_ALREADY_ISSUED" | "COUPON_SOLD_OUT";

/**
 * Why a coupon in `status` cannot be issued to a user (who `holds` one already or not), or undefined if it
 * can. The order of the questions is the Lua script's too: open? already claimed by this user? any left?
 */
export function issueRefusal(status: CouponStatus, holds: boolean): IssueRefusal | undefined {
  if (status !== "ACTIVE" && status !== "EXHAUSTED") return "COUPON_NOT_ACTIVE";
  if (holds) return "COUPON_ALREADY_ISSUED";
  if (status === "EXHAUSTED") return "COUPON_SOLD_OUT";
  return undefined;
}
