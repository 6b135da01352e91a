import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import type { LockManager } from "../shared/ports";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { Actor } from "../users/user";
import type { Coupon, HeldCouponView } from "./coupon";
import type { CouponStateReconciliation } from "./coupon-reconciliation";
import { couponStatus, issueRefusal } from "./coupon-status";
import { recordIssue } from "./issue-record";
import { assertMayIssueTo, couponNotFound, issueResultOf, refused, soldOutForNow } from "./issue-refusals";
import { DEFAULT_ISSUE_TIMING, type IssueTiming } from "./issue-timing";
import { LimitedIssueState } from "./limited-state";
import type { CouponClaims, CouponIssueObserver, CouponRepository, IssuePath, UserCouponRepository } from "./ports";
import { StateRechecks } from "./state-rechecks";

export interface IssueRequest {
  couponId: string;
  userId: string;
}

interface CouponIssueDeps {
  coupons: CouponRepository;
  userCoupons: UserCouponRepository;
  claims: CouponClaims;
  reconciliation: CouponStateReconciliation;
  locks: LockManager;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
  newId: () => string;
  observer?: CouponIssueObserver;
  timing?: Partial<IssueTiming>;
}

/**
 * Issuing coupons, one per user, never more than `totalQuantity`, on two paths (contract: "Coupons"):
 * - database: one transaction with a conditional increment of `issued_quantity` and the user coupon insert
 *   (`recordIssue`, issue-record.ts);
 * - limited (drops): a Redis Lua script decides first come, first served (`LimitedIssueState`, limited-state.ts),
 *   then the same PostgreSQL write makes it count. PostgreSQL stays the source of truth, so even a wrong Redis
 *   state cannot over-issue: a claim PostgreSQL refuses is given back, a claim whose write fails or rolls back
 *   is too. Its timing rules are in issue-timing.ts, its answers in issue-refusals.ts.
 */
export class CouponIssue {
  readonly #state: LimitedIssueState;
  readonly #rechecks: StateRechecks;

  constructor(private readonly deps: CouponIssueDeps) {
    const timing = { ...DEFAULT_ISSUE_TIMING, ...deps.timing };
    this.#state = new LimitedIssueState({ ...deps, timing });
    this.#rechecks = new StateRechecks({ ...deps, auditIntervalMs: timing.auditIntervalMs });
  }

  /** The database path. The caller is the user, the coupon's issuer or an ADMIN. */
  issue(actor: Actor, { couponId, userId }: IssueRequest): Promise<HeldCouponView> {
    return this.#observe("database", async () => {
      const coupon = await this.#find(couponId);
      assertMayIssueTo(actor, coupon, userId);
      // Refuse what is certain without writing: a closed coupon, or a sold-out one (whose holder hears so).
      const status = couponStatus(coupon, this.deps.clock.now());
      const holds = status === "EXHAUSTED" && (await this.deps.userCoupons.holds(couponId, userId));
      const refusal = issueRefusal(status, holds);
      if (refusal) throw refused(refusal);
      const held = await recordIssue(this.deps, couponId, userId, "database");
      await this.#state.noteHolder(couponId, userId);
      return held;
    });
  }

  /** The drop path: Redis decides who is first, PostgreSQL records it. */
  issueLimited(actor: Actor, { couponId, userId }: IssueRequest): Promise<HeldCouponView> {
    return this.#observe("limited", async () => {
      // A buyer claiming for itself needs no database read: that is the whole point of this path.
      if (actor.role !== "ADMIN" && actor.userId !== userId)
        assertMayIssueTo(actor, await this.#find(couponId), userId);
      let outcome = await this.#state.claim(couponId, userId);
      const rechecks = this.#rechecks;
      if (outcome.kind === "not_active" && outcome.reason === "lifecycle" && (await rechecks.caughtUp(couponId))) {
        outcome = await this.#state.claim(couponId, userId);
      }
      if (outcome.kind === "sold_out" && !(await rechecks.soldOutForGood(couponId))) {
        // PostgreSQL has units left: claims not recorded hold them (in flight, or orphaned by a dead request).
        if (await rechecks.recoverLeakedUnits(couponId)) outcome = await this.#state.claim(couponId, userId);
        if (outcome.kind === "sold_out") throw soldOutForNow();
      }
      switch (outcome.kind) {
        case "claimed":
          return this.#state.write(outcome.ticket);
        case "not_found":
          throw couponNotFound(couponId);
        case "not_active":
          throw refused("COUPON_NOT_ACTIVE");
        case "already_issued":
          throw refused("COUPON_ALREADY_ISSUED");
        case "sold_out":
          throw refused("COUPON_SOLD_OUT");
      }
    });
  }

  async #find(couponId: string): Promise<Coupon> {
    const coupon = await this.deps.coupons.find(couponId);
    if (!coupon) throw couponNotFound(couponId);
    return coupon;
  }

  async #observe<T>(path: IssuePath, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.deps.observer?.issueOutcome(path, "issued");
      return result;
    } catch (error) {
      this.deps.observer?.issueOutcome(path, issueResultOf(error));
      throw error;
    }
  }
}
