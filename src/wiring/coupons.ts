import { Counter, Histogram } from "prom-client";
import { CouponIssue } from "../domain/coupons/coupon-issue";
import { CouponStateReconciliation } from "../domain/coupons/coupon-reconciliation";
import { CouponRedemption } from "../domain/coupons/coupon-redemption";
import { CouponService } from "../domain/coupons/coupon-service";
import { DEFAULT_ISSUE_TIMING } from "../domain/coupons/issue-timing";
import type { CouponClaims, CouponIssueObserver } from "../domain/coupons/ports";
import { DrizzleCouponRepository } from "../infra/db/repositories/coupon-repository";
import { DrizzleUserCouponRepository } from "../infra/db/repositories/user-coupon-repository";
import { DrizzleUserRepository } from "../infra/db/repositories/user-repository";
import { MemoryCouponClaims } from "../infra/memory/memory-coupon-claims";
import { CLAIM_CONNECTION_OPTIONS, RedisCouponClaims } from "../infra/redis/coupons/redis-coupon-claims";
import { createRedis } from "../infra/redis/redis-client";
import type { Infrastructure } from "./infrastructure";

/** Coupons: definitions and lifecycle, both issue paths, redemption for orders, reconciliation. */
export function wireCoupons(infra: Infrastructure) {
  const { transactions, unitOfWork, outbox, locks, clock, newId } = infra;
  const coupons = new DrizzleCouponRepository(transactions);
  const userCoupons = new DrizzleUserCouponRepository(transactions);
  const claims = couponClaims(infra);
  const observer = couponObserver(infra);
  const reconciliation = new CouponStateReconciliation({
    coupons,
    claims,
    clock,
    orphanGraceMs: DEFAULT_ISSUE_TIMING.orphanGraceMs,
  });

  return {
    coupons: new CouponService({
      coupons,
      users: new DrizzleUserRepository(transactions),
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

function couponObserver({ metrics, logger }: Infrastructure): CouponIssueObserver {
  const outcomes = new Counter({
    name: "coupon_issue_total",
    help: "Coupon issue requests by path (database, limited) and result",
    labelNames: ["path", "result"] as const,
    registers: [metrics.registry],
  });
  const compensations = new Counter({
    name: "coupon_claim_compensations_total",
    help: "Limited-issue claims given back, by reason, and whether giving back succeeded",
    labelNames: ["reason", "outcome"] as const,
    registers: [metrics.registry],
  });
  const builds = new Counter({
    name: "coupon_state_builds_total",
    help: "Limited-issue states built from PostgreSQL (first use, lost keys, drift)",
    registers: [metrics.registry],
  });
  const batches = new Histogram({
    name: "coupon_claim_batch_size",
    help: "Limited-issue claims written per PostgreSQL transaction (group commit)",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [metrics.registry],
  });
  return {
    issueOutcome: (path, result) => outcomes.inc({ path, result }),
    claimsWritten(count, error) {
      if (error === undefined) batches.observe(count);
      else logger.warn({ err: error }, "a group of coupon claims failed; each is written on its own");
    },
    compensation(reason, error) {
      compensations.inc({ reason, outcome: error === undefined ? "done" : "failed" });
      if (error !== undefined) {
        logger.warn({ err: error, reason }, "coupon claim not given back; it is recovered as an orphan later");
      }
    },
    stateBuilt(couponId, holders) {
      builds.inc();
      logger.info({ couponId, holders }, "coupon issue state built from PostgreSQL");
    },
    stateUnreachable(couponId, change, error) {
      logger.warn({ err: error, couponId, change }, "coupon issue state not updated; PostgreSQL still guards issues");
    },
  };
}
