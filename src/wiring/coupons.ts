import { CouponIssue } from "../domain/coupons/coupon-issue";
import { CouponStateReconciliation } from "../domain/coupons/coupon-reconciliation";
import { CouponRedemption } from "../domain/coupons/coupon-redemption";
import { CouponService } from "../domain/coupons/coupon-service";
import { DEFAULT_ISSUE_TIMING } from "../domain/coupons/issue-timing";
import type { CouponClaims } from "../domain/coupons/ports";
import { MemoryCouponClaims } from "../infra/memory/memory-coupon-claims";
import { couponIssueObserver } from "../infra/metrics/coupons";
import { CLAIM_CONNECTION_OPTIONS, RedisCouponClaims } from "../infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../infra/redis/redis-client";
import type { Infrastructure } from "./infrastructure";

/** Coupons: definitions and lifecycle, both issue paths, redemption for orders, reconciliation. */
export function wireCoupons(infra: Infrastructure) {
  const { repositories, unitOfWork, outbox, locks, clock, newId, metrics, logger } = infra;
  const { coupons, userCoupons } = repositories;
  const claims = couponClaims(infra);
  const observer = couponIssueObserver(metrics.registry, logger);
  const reconciliation = new CouponStateReconciliation({
    coupons,
    claims,
    clock,
    orphanGraceMs: DEFAULT_ISSUE_TIMING.orphanGraceMs,
  });

  return {
    coupons: new CouponService({
      coupons,
      users: repositories.users,
      userCoupons,
      claims,
      unitOfWork,
      outbox,
      clock,
      newId,
      observer,
    }),
    couponIssue: new CouponIssue({
      coupons,
      userCoupons,
      claims,
      reconciliation,
      locks,
      unitOfWork,
      outbox,
      clock,
      newId,
      observer,
    }),
    /** For the ordering context: apply a held coupon inside the order's transaction, give it back on cancel. */
    couponRedemption: new CouponRedemption({ userCoupons, unitOfWork, outbox, clock }),
    couponReconciliation: reconciliation,
  };
}

/**
 * Redis when configured, on a connection of its own: claims must fail at once while Redis is away (no
 * offline queue), time out instead of hanging, and never run twice after a reconnect (no resending of
 * unanswered commands).
 */
function couponClaims({ config, logger, closers }: Infrastructure): CouponClaims {
  if (!config.REDIS_URL) return new MemoryCouponClaims();
  const redis = createRedis(config.REDIS_URL, config.REDIS_KEY_PREFIX, logger, CLAIM_CONNECTION_OPTIONS);
  closers.push(async () => {
    await redis.quit().catch(() => redis.disconnect());
  });
  return new RedisCouponClaims(redis);
}
