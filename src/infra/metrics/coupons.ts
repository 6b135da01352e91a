import { Counter, Histogram, type Registry } from "prom-client";
import type { CouponIssueObserver } from "../../domain/coupons/ports";
import type { Logger } from "../logger";

/** Coupon issue on /metrics and in the log: outcomes by path, group commits, claims given back, state builds. */
export function couponIssueObserver(registry: Registry, logger: Logger): CouponIssueObserver {
  const outcomes = new Counter({
    name: "coupon_issue_total",
    help: "Coupon issue requests by path (database, limited) and result",
    labelNames: ["path", "result"] as const,
    registers: [registry],
  });
  const compensations = new Counter({
    name: "coupon_claim_compensations_total",
    help: "Limited-issue claims given back, by reason, and whether giving back succeeded",
    labelNames: ["reason", "outcome"] as const,
    registers: [registry],
  });
  const builds = new Counter({
    name: "coupon_state_builds_total",
    help: "Limited-issue states built from PostgreSQL (first use, lost keys, drift)",
    registers: [registry],
  });
  const batches = new Histogram({
    name: "coupon_claim_batch_size",
    help: "Limited-issue claims written per PostgreSQL transaction (group commit)",
    buckets: [1, 2, 5, 10, 20, 50, 100, 200],
    registers: [registry],
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
