import type { CouponStateReconciliation } from "../domain/coupons/coupon-reconciliation";
import type { LockManager } from "../domain/shared/ports";
import type { Logger } from "../infra/logger";
import { repeat } from "./repeat";

/** One sweep per interval across every instance: whoever takes this lock (it lives the interval) sweeps. */
const SWEEP_LOCK = "coupon-state-reconciliation";

export interface SweepSummary {
  coupons: number;
  withState: number;
  drifted: number;
  repaired: number;
}

interface SweepDeps {
  reconciliation: CouponStateReconciliation;
  locks: LockManager;
  logger: Logger;
  intervalMs: number;
}

/**
 * Compares every coupon's limited-issue state with PostgreSQL and repairs what is safe to repair without a
 * person: holders the state lacks are added, claims never recorded and older than the orphan grace are given
 * back (exactly those claims), a lifecycle the state missed is caught up by version, a state whose
 * definition differs is marked for a rebuild from PostgreSQL. Each repair is checked against the state's
 * epoch and each claim's time, so a sweep racing claims, a rebuild or another sweep changes nothing it should
 * not. Undefined when another instance has this interval's turn.
 */
export async function sweepCouponStates({
  reconciliation,
  locks,
  logger,
  intervalMs,
}: SweepDeps): Promise<SweepSummary | undefined> {
  // A little shorter than the interval, so the next tick (of any instance) finds it free.
  const turn = await locks.tryAcquire(SWEEP_LOCK, Math.max(1, Math.floor(intervalMs * 0.9)));
  if (!turn) return undefined;
  const summary: SweepSummary = { coupons: 0, withState: 0, drifted: 0, repaired: 0 };
  for await (const result of reconciliation.reconcileAll({ repair: true })) {
    summary.coupons++;
    if (!result.loaded) continue;
    summary.withState++;
    if (!result.drifted) continue;
    summary.drifted++;
    if (result.repaired) summary.repaired++;
    const { drift } = result;
    const facts = {
      couponId: result.couponId,
      missingHolders: drift.missingHolders.length,
      orphanedClaims: drift.orphanedClaims.length,
      lifecycleBehind: drift.lifecycleBehind,
      definitionDiffers: drift.definitionDiffers,
    };
    if (result.repaired) logger.warn(facts, "coupon issue state drifted from PostgreSQL; repaired");
    else
      logger.error(
        facts,
        "coupon issue state drifted from PostgreSQL and could not be repaired (it changed meanwhile)",
      );
  }
  return summary;
}

/**
 * Runs the sweep every `intervalMs` on every instance (one of them sweeps per interval). Without it, drift
 * is still repaired, but only when a claim meets it (a lifecycle refusal, a sold-out answer with units left).
 */
export function scheduleCouponReconciliation(deps: SweepDeps): () => Promise<void> {
  return repeat(
    "coupon state reconciliation",
    async () => {
      await sweepCouponStates(deps);
      return false;
    },
    deps.intervalMs,
    deps.logger,
  );
}
