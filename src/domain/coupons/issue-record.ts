import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import type { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { HeldCouponView } from "./coupon";
import { couponIssued } from "./coupon-events";
import { couponStatus, issueRefusal } from "./coupon-status";
import { couponNotFound, refused } from "./issue-refusals";
import type { CouponRepository, IssuePath, UserCouponRepository } from "./ports";
import { toHeldCouponView } from "./views";

export interface IssueRecordDeps {
  coupons: CouponRepository;
  userCoupons: UserCouponRepository;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
  newId: () => string;
}

/**
 * The PostgreSQL write both paths end in, and the truth of both: the user coupon, its COUPON_ISSUED event and the
 * conditional increment of `issued_quantity`, one unit of work. Refused with the coupon's answer as it is now.
 */
export function recordIssue(
  deps: IssueRecordDeps,
  couponId: string,
  userId: string,
  path: IssuePath,
): Promise<HeldCouponView> {
  const now = deps.clock.now();
  return deps.unitOfWork.withTransaction(async () => {
    const userCoupon = await deps.userCoupons.insert({ id: deps.newId(), couponId, userId, issuedAt: now });
    if (!userCoupon) throw await refusalOf(deps, couponId, now, true);
    await deps.outbox.append("coupon", couponIssued(userCoupon, path));
    // Last, so the coupon's row lock (every issuer of the coupon queues on it) is held only until commit.
    const coupon = await deps.coupons.incrementIssued(couponId, now);
    if (!coupon) throw await refusalOf(deps, couponId, now, false);
    return toHeldCouponView({ ...userCoupon, coupon }, now);
  });
}

/** Why PostgreSQL refused, from the coupon as it is now: the same answer the status and the script give. */
async function refusalOf(deps: IssueRecordDeps, couponId: string, now: Date, holds: boolean): Promise<DomainError> {
  const coupon = await deps.coupons.find(couponId);
  if (!coupon) return couponNotFound(couponId);
  // Not refused by its status now: it was closed when the increment ran and resumed since.
  return refused(issueRefusal(couponStatus(coupon, now), holds) ?? "COUPON_NOT_ACTIVE");
}
