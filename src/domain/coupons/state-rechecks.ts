import type { Clock } from "../shared/clock";
import type { LockManager } from "../shared/ports";
import type { Coupon } from "./coupon";
import type { CouponStateReconciliation } from "./coupon-reconciliation";
import type { CouponClaims, CouponRepository } from "./ports";

interface StateRechecksDeps {
  coupons: CouponRepository;
  claims: CouponClaims;
  reconciliation: CouponStateReconciliation;
  locks: LockManager;
  clock: Clock;
  /** At most one audit for units stuck in orphaned claims per coupon this often, across all instances. */
  auditIntervalMs: number;
}

/**
 * What the limited path asks PostgreSQL (the truth) before it passes on a refusal of the limited-issue state
 * that may rest on drift: "not active" by a lifecycle the state may have missed, "sold out" while units may be
 * held by claims never recorded. Concurrent claims of one process share each read and each audit.
 */
export class StateRechecks {
  readonly #reads = new Map<string, Promise<Coupon | undefined>>();
  readonly #audits = new Map<string, Promise<boolean>>();
  /** When this process may next ask for a coupon's audit turn. */
  readonly #nextAuditAt = new Map<string, number>();
  /** Coupons PostgreSQL has seen sold out (for good: issues are never taken back). */
  readonly #soldOut = new Set<string>();

  constructor(private readonly deps: StateRechecksDeps) {}

  /**
   * The state refused by its lifecycle (suspended or cancelled at its version): true if PostgreSQL's lifecycle
   * is newer and the state has now taken it (by version), so the claim is worth making again. A resume that
   * never reached Redis (a partition, a restart from an old save, a build racing it) is thus caught up by the
   * first claim that meets it.
   */
  async caughtUp(couponId: string): Promise<boolean> {
    const coupon = await this.#current(couponId);
    return coupon !== undefined && (await this.deps.claims.updateLifecycle(coupon));
  }

  /**
   * Whether the state's "sold out" is PostgreSQL's too. Units issued never come back, so once PostgreSQL is
   * sold out this process answers every later "sold out" of the coupon without a round trip; until then each
   * one costs a read (shared by concurrent claims).
   */
  async soldOutForGood(couponId: string): Promise<boolean> {
    if (this.#soldOut.has(couponId)) return true;
    const coupon = await this.#current(couponId);
    if (coupon && coupon.issuedQuantity < coupon.totalQuantity) return false;
    if (this.#soldOut.size >= 10_000) this.#soldOut.clear();
    this.#soldOut.add(couponId);
    return true;
  }

  /**
   * PostgreSQL has units left while the state says sold out: claims it never recorded hold them. Those past
   * the grace are orphans and are given back by one audit per coupon per interval across all instances (the
   * lock is the interval; each process asks for it at most once per interval too, so a drop's "sold out"
   * answers cost one reconciliation now and then). The claims of this process that meet an audit in progress
   * wait for it and then claim again, so every unit it frees is offered at once. True if units were given back.
   */
  recoverLeakedUnits(couponId: string): Promise<boolean> {
    const running = this.#audits.get(couponId);
    if (running) return running;
    const now = this.deps.clock.now().getTime();
    if ((this.#nextAuditAt.get(couponId) ?? 0) > now) return Promise.resolve(false);
    if (this.#nextAuditAt.size >= 10_000) this.#nextAuditAt.clear();
    this.#nextAuditAt.set(couponId, now + this.deps.auditIntervalMs);
    const audit = this.#audit(couponId).finally(() => this.#audits.delete(couponId));
    this.#audits.set(couponId, audit);
    return audit;
  }

  async #audit(couponId: string): Promise<boolean> {
    const turn = await this.deps.locks
      .tryAcquire(`coupon-audit:{coupon:${couponId}}`, this.deps.auditIntervalMs)
      .catch(() => undefined);
    if (!turn) return false;
    const result = await this.deps.reconciliation.reconcile(couponId, { repair: true });
    return result.loaded && result.repaired && result.drift.orphanedClaims.length > 0;
  }

  /** The coupon as PostgreSQL has it now; concurrent callers share one read. */
  #current(couponId: string): Promise<Coupon | undefined> {
    const inFlight = this.#reads.get(couponId);
    if (inFlight) return inFlight;
    const read = this.deps.coupons.find(couponId).finally(() => this.#reads.delete(couponId));
    this.#reads.set(couponId, read);
    return read;
  }
}
