import type { Clock } from "../shared/clock";
import type { Coupon } from "./coupon";
import { CLAIM_STATE_RETENTION_MS, type ClaimState, type CouponClaims, type CouponRepository } from "./ports";

/** How a coupon's limited-issue state differs from PostgreSQL. */
export interface CouponDrift {
  couponId: string;
  /** Holders PostgreSQL has and the state lacks: each lets one claim through that PostgreSQL then refuses. */
  missingHolders: string[];
  /** Claims older than the grace that PostgreSQL never recorded: units held back for nobody. */
  orphanedClaims: { userId: string; claimedAtMs: number }[];
  /** Claims younger than the grace not in PostgreSQL (yet): in flight, not drift. */
  pendingClaims: number;
  /** Quantity, window or lifecycle differ from PostgreSQL (or the coupon is gone): the state must be rebuilt. */
  definitionDiffers: boolean;
  /**
   * The state's lifecycle is older than PostgreSQL's (a suspend or resume that never reached it): brought up to
   * date in place, no rebuild needed.
   */
  lifecycleBehind: boolean;
  /** Marked for rebuilding already: the next claim builds it afresh. */
  stale: boolean;
  issuedQuantity: number;
  stateHolders: number;
}

export type ReconcileResult =
  | { couponId: string; loaded: false; drifted: false; repaired: false }
  | { couponId: string; loaded: true; drifted: boolean; repaired: boolean; drift: CouponDrift };

interface ReconciliationDeps {
  coupons: CouponRepository;
  claims: CouponClaims;
  clock: Clock;
  orphanGraceMs: number;
}

const BATCH = 200;

/**
 * Compares the limited-issue state with PostgreSQL (the truth) and, asked to, repairs it precisely: adds the
 * holders it lacks, removes orphaned claims (exactly those, by claim time), and marks a state whose
 * definition differs for a rebuild. Run by `bun run coupons:reconcile` and, for one coupon, by the limited
 * path when the state says sold out while PostgreSQL has units left.
 */
export class CouponStateReconciliation {
  constructor(private readonly deps: ReconciliationDeps) {}

  async reconcile(couponId: string, { repair }: { repair: boolean }): Promise<ReconcileResult> {
    // The state first, then PostgreSQL: a claim written in between is in both or only in PostgreSQL
    // (adding it again changes nothing), never wrongly taken for an orphan.
    const state = await this.deps.claims.inspect(couponId);
    if (!state) return { couponId, loaded: false, drifted: false, repaired: false };
    const snapshot = await this.deps.coupons.snapshot(couponId);
    const drift = this.#compare(couponId, state, snapshot?.holderIds ?? [], snapshot?.coupon);
    // A state marked stale is drift already dealt with: no claim uses it, the next one rebuilds it from PostgreSQL.
    const holdersDiffer = drift.missingHolders.length > 0 || drift.orphanedClaims.length > 0;
    const drifted = !state.stale && (drift.definitionDiffers || drift.lifecycleBehind || holdersDiffer);
    let repaired = false;
    if (repair && drifted) {
      repaired = true;
      // The version-checked update: a change that reaches the state meanwhile is never overwritten.
      if (drift.lifecycleBehind && snapshot) await this.deps.claims.updateLifecycle(snapshot.coupon);
      if (drift.definitionDiffers || holdersDiffer) {
        repaired = await this.deps.claims.repair(
          couponId,
          state.epoch,
          { add: drift.missingHolders, remove: drift.orphanedClaims },
          { markStale: drift.definitionDiffers },
        );
      }
    }
    return { couponId, loaded: true, drifted, repaired, drift };
  }

  /** Every coupon whose state may still exist (window ended less than the retention ago). */
  async *reconcileAll(options: { repair: boolean }): AsyncGenerator<ReconcileResult> {
    const since = new Date(this.deps.clock.now().getTime() - CLAIM_STATE_RETENTION_MS);
    let after: string | undefined;
    for (;;) {
      const ids = await this.deps.coupons.listIdsValidSince(since, after, BATCH);
      for (const id of ids) yield await this.reconcile(id, options);
      if (ids.length < BATCH) return;
      after = ids.at(-1);
    }
  }

  #compare(couponId: string, state: ClaimState, holderIds: string[], coupon: Coupon | undefined): CouponDrift {
    const inDatabase = new Set(holderIds);
    const orphanedBefore = this.deps.clock.now().getTime() - this.deps.orphanGraceMs;
    const orphanedClaims: CouponDrift["orphanedClaims"] = [];
    let pendingClaims = 0;
    for (const [userId, claimedAtMs] of state.holders) {
      if (inDatabase.has(userId)) continue;
      // A confirmed holder (0) PostgreSQL does not have can only be wrong; a recent claim is still in flight.
      if (claimedAtMs < orphanedBefore) orphanedClaims.push({ userId, claimedAtMs });
      else pendingClaims++;
    }
    const lifecycleBehind = coupon !== undefined && state.version < coupon.version;
    return {
      couponId,
      missingHolders: holderIds.filter((id) => !state.holders.has(id)),
      orphanedClaims,
      pendingClaims,
      definitionDiffers: !coupon || !sameDefinition(state, coupon, { lifecycle: !lifecycleBehind }),
      lifecycleBehind,
      stale: state.stale,
      issuedQuantity: coupon?.issuedQuantity ?? 0,
      stateHolders: state.holders.size,
    };
  }
}

/** The lifecycle is compared only when the versions agree: an older one is caught up, not rebuilt. */
function sameDefinition(state: ClaimState, coupon: Coupon, compare: { lifecycle: boolean }): boolean {
  return (
    state.totalQuantity === coupon.totalQuantity &&
    state.validFromMs === coupon.validFrom.getTime() &&
    state.validUntilMs === coupon.validUntil.getTime() &&
    (!compare.lifecycle ||
      (state.suspended === (coupon.suspendedAt !== null) && state.cancelled === (coupon.cancelledAt !== null)))
  );
}
