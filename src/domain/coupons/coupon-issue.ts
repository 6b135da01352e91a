import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { LockManager } from "../shared/ports";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { Actor } from "../users/user";
import { ClaimBatches } from "./claim-batches";
import type { Coupon, HeldCouponView } from "./coupon";
import { couponIssued } from "./coupon-events";
import type { CouponStateReconciliation } from "./coupon-reconciliation";
import { couponStatus, type IssueRefusal, issueRefusal } from "./coupon-status";
import type {
  ClaimOutcome,
  ClaimTicket,
  CompensationReason,
  CouponClaims,
  CouponIssueObserver,
  CouponRepository,
  IssuePath,
  IssueResult,
  UserCouponRepository,
} from "./ports";
import { toHeldCouponView } from "./views";

export interface IssueRequest {
  couponId: string;
  userId: string;
}

export interface IssueTiming {
  /** How long a claim waits for another instance to build the coupon's state before answering 503. */
  stateWaitMs: number;
  /** Lifetime of the build lock: the longest a crashed builder can hold the others up. */
  buildLockMs: number;
  /**
   * A claim older than this that PostgreSQL never recorded is an orphan (its request lost Redis's reply, or
   * died): every write of a claim ends within the database session limits (statements 30 s, idle 60 s).
   */
  orphanGraceMs: number;
  /** At most one check for units stuck in orphaned claims per coupon this often, when the state says sold out. */
  auditIntervalMs: number;
}

export const DEFAULT_ISSUE_TIMING: IssueTiming = {
  stateWaitMs: 5_000,
  buildLockMs: 10_000,
  orphanGraceMs: 120_000,
  auditIntervalMs: 10_000,
};

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

/** A build whose snapshot keeps being overtaken by lifecycle changes gives up (busy) after this many reads. */
const MAX_SNAPSHOT_READS = 3;

/** PostgreSQL refusals that mean the limited-issue state said yes where it should not have: it has drifted. */
const DRIFT_CODES = new Set(["COUPON_SOLD_OUT", "COUPON_NOT_ACTIVE", "COUPON_NOT_FOUND"]);

const RESULTS: Record<string, IssueResult> = {
  COUPON_ALREADY_ISSUED: "already_issued",
  COUPON_SOLD_OUT: "sold_out",
  COUPON_NOT_ACTIVE: "not_active",
  COUPON_NOT_FOUND: "not_found",
  UNAVAILABLE: "unavailable",
};

const REFUSAL_DETAILS: Record<IssueRefusal, string> = {
  COUPON_NOT_ACTIVE: "The coupon is not active (not yet valid, expired, suspended or cancelled)",
  COUPON_ALREADY_ISSUED: "This user already holds this coupon",
  COUPON_SOLD_OUT: "Every unit of this coupon has been issued",
};

const refused = (code: IssueRefusal) => new DomainError(code, REFUSAL_DETAILS[code]);

/**
 * Issuing coupons, one per user, never more than `totalQuantity`, on two paths (contract: "Coupons"):
 * - database: one transaction with a conditional increment of `issued_quantity` and the user coupon insert;
 * - limited (drops): a Redis Lua script decides first come, first served, then the same PostgreSQL write
 *   makes it count. PostgreSQL stays the source of truth, so even a wrong Redis state cannot over-issue:
 *   a claim PostgreSQL refuses is given back, a claim whose write fails or rolls back is too.
 */
export class CouponIssue {
  readonly #timing: IssueTiming;
  /** When this process may next ask for a coupon's audit turn: a drop's sold-out answers cost no round trip. */
  readonly #nextAuditAt = new Map<string, number>();
  readonly #batches: ClaimBatches;
  readonly #reads = new Map<string, Promise<Coupon | undefined>>();

  constructor(private readonly deps: CouponIssueDeps) {
    this.#timing = { ...DEFAULT_ISSUE_TIMING, ...deps.timing };
    this.#batches = new ClaimBatches(deps);
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
      const held = await this.#record(couponId, userId, "database");
      await this.#noteHolder(couponId, userId);
      return held;
    });
  }

  /** The drop path: Redis decides who is first, PostgreSQL records it. */
  issueLimited(actor: Actor, { couponId, userId }: IssueRequest): Promise<HeldCouponView> {
    return this.#observe("limited", async () => {
      // A buyer claiming for itself needs no database read: that is the whole point of this path.
      if (actor.role !== "ADMIN" && actor.userId !== userId)
        assertMayIssueTo(actor, await this.#find(couponId), userId);
      let outcome = await this.#claim(couponId, userId);
      if (outcome.kind === "not_active" && outcome.reason === "lifecycle" && (await this.#catchUp(couponId))) {
        outcome = await this.#claim(couponId, userId);
      }
      if (outcome.kind === "sold_out" && (await this.#recoverLeakedUnits(couponId))) {
        outcome = await this.#claim(couponId, userId);
      }
      switch (outcome.kind) {
        case "claimed":
          return this.#recordClaim(outcome.ticket);
        case "not_found":
          throw new DomainError("COUPON_NOT_FOUND", `No coupon ${couponId}`);
        case "not_active":
          throw refused("COUPON_NOT_ACTIVE");
        case "already_issued":
          throw refused("COUPON_ALREADY_ISSUED");
        case "sold_out":
          throw refused("COUPON_SOLD_OUT");
      }
    });
  }

  /** Claims in Redis, building the state from PostgreSQL when there is none (first use, lost keys, drift). */
  async #claim(couponId: string, userId: string): Promise<Exclude<ClaimOutcome, { kind: "not_loaded" }> | NotFound> {
    const giveUpAt = Date.now() + this.#timing.stateWaitMs;
    let orphanChecked = false;
    for (;;) {
      const outcome = await this.deps.claims.claim(couponId, userId);
      if (outcome.kind === "not_loaded") {
        const built = await this.#build(couponId, outcome.epoch);
        if (built === "not_found") return { kind: "not_found" };
        if (built === "busy") {
          if (Date.now() > giveUpAt) {
            throw new DomainError(
              "UNAVAILABLE",
              "The coupon's issue state is being rebuilt; retry shortly",
              undefined,
              {
                retryAfterSeconds: 1,
              },
            );
          }
          await Bun.sleep(10 + Math.random() * 20);
        }
        continue;
      }
      if (outcome.kind === "already_issued" && !orphanChecked && this.#isOld(outcome.ticket)) {
        orphanChecked = true;
        // Redis has had this claim for long, yet PostgreSQL never recorded it: its request lost the script's
        // reply or died. The user does not hold the coupon, so the claim goes and the user tries again.
        if (
          !(await this.deps.userCoupons.holds(couponId, userId)) &&
          (await this.#release(outcome.ticket, "orphaned"))
        ) {
          continue;
        }
      }
      return outcome;
    }
  }

  /** One builder per coupon across every instance (a lock); the others wait and claim once it is there. */
  async #build(couponId: string, seenEpoch: string | null): Promise<"built" | "busy" | "not_found"> {
    const lock = await this.deps.locks.tryAcquire(`coupon-state:{coupon:${couponId}}`, this.#timing.buildLockMs);
    if (!lock) return "busy";
    try {
      for (let read = 1; read <= MAX_SNAPSHOT_READS; read++) {
        const snapshot = await this.deps.coupons.snapshot(couponId);
        if (!snapshot) return "not_found";
        // Installed only if nobody else installed a state since this one was seen missing or stale, and no
        // lifecycle change newer than the snapshot has reached the state meanwhile (a suspend or resume on
        // another instance, committed after this read): then the snapshot is read again.
        const outcome = await this.deps.claims.load(snapshot, seenEpoch);
        if (outcome === "installed") this.deps.observer?.stateBuilt(couponId, snapshot.holderIds.length);
        if (outcome !== "outdated") return "built";
      }
      return "busy";
    } finally {
      await lock.release().catch(() => {});
    }
  }

  /**
   * The state refused by its lifecycle (suspended or cancelled at its version): true if PostgreSQL's lifecycle
   * is newer and the state has now taken it, so the claim is worth making again. A resume that never reached
   * Redis (a partition, or a build racing it) is thus caught up by the first claim that meets it.
   */
  async #catchUp(couponId: string): Promise<boolean> {
    const coupon = await this.#current(couponId);
    return coupon !== undefined && (await this.deps.claims.updateLifecycle(coupon));
  }

  /**
   * The coupon as PostgreSQL has it now; concurrent callers in this process share one read (a suspended
   * coupon's drop would otherwise read the row once per refused claim).
   */
  #current(couponId: string): Promise<Coupon | undefined> {
    const inFlight = this.#reads.get(couponId);
    if (inFlight) return inFlight;
    const read = this.deps.coupons.find(couponId).finally(() => this.#reads.delete(couponId));
    this.#reads.set(couponId, read);
    return read;
  }

  /** Writes a claim Redis granted; what is undone when PostgreSQL says no depends on why it said no. */
  async #recordClaim(ticket: ClaimTicket): Promise<HeldCouponView> {
    // Outside a caller's transaction, with others granted meanwhile (group commit); a claim inside one must
    // commit with it, and one the group could not write is written alone, below.
    if (!this.deps.unitOfWork.inTransaction()) {
      const written = await this.#batches.write(ticket);
      if (written) return written;
    }
    let held: HeldCouponView;
    try {
      held = await this.#record(ticket.couponId, ticket.userId, "limited");
    } catch (error) {
      if (error instanceof DomainError && error.code === "COUPON_ALREADY_ISSUED") {
        // PostgreSQL already had this holder (the state had lost it): the claim now says what is true. Keep it.
        throw error;
      }
      // Sold out, closed or gone in PostgreSQL: the state drifted, so give the claim back and rebuild it.
      // Any other failure (an unknown user, the database down): give the claim back, the state is right.
      const drifted = error instanceof DomainError && DRIFT_CODES.has(error.code);
      await this.#release(ticket, error instanceof DomainError ? "refused" : "failed", { markStale: drifted });
      throw error;
    }
    // Inside a caller's transaction (an Idempotency-Key request), the write only counts once that commits.
    this.deps.unitOfWork.onRollback(async () => {
      await this.#release(ticket, "rolled_back");
    });
    return held;
  }

  /** The user coupon, its COUPON_ISSUED event and the conditional increment: one unit of work. */
  #record(couponId: string, userId: string, path: IssuePath): Promise<HeldCouponView> {
    const now = this.deps.clock.now();
    return this.deps.unitOfWork.withTransaction(async () => {
      const userCoupon = await this.deps.userCoupons.insert({ id: this.deps.newId(), couponId, userId, issuedAt: now });
      if (!userCoupon) throw await this.#refusal(couponId, now, true);
      await this.deps.outbox.append("coupon", couponIssued(userCoupon, path));
      // Last, so the coupon's row lock (every issuer of the coupon queues on it) is held only until commit.
      const coupon = await this.deps.coupons.incrementIssued(couponId, now);
      if (!coupon) throw await this.#refusal(couponId, now, false);
      return toHeldCouponView({ ...userCoupon, coupon }, now);
    });
  }

  /** Why PostgreSQL refused, from the coupon as it is now: the same answer the status and the script give. */
  async #refusal(couponId: string, now: Date, holds: boolean): Promise<DomainError> {
    const coupon = await this.deps.coupons.find(couponId);
    if (!coupon) return new DomainError("COUPON_NOT_FOUND", `No coupon ${couponId}`);
    // Not refused by its status now: it was closed when the increment ran and resumed since.
    return refused(issueRefusal(couponStatus(coupon, now), holds) ?? "COUPON_NOT_ACTIVE");
  }

  /** Tells the limited-issue state about a database-path holder (best effort: PostgreSQL decides anyway). */
  async #noteHolder(couponId: string, userId: string): Promise<void> {
    let ticket: ClaimTicket | undefined;
    try {
      ticket = await this.deps.claims.recordHolder(couponId, userId);
    } catch (error) {
      this.deps.observer?.stateUnreachable(couponId, "holder", error);
      return;
    }
    if (ticket) {
      const noted = ticket;
      this.deps.unitOfWork.onRollback(async () => {
        await this.#release(noted, "rolled_back");
      });
    }
  }

  /**
   * The state says sold out: if PostgreSQL has units left, some may be stuck in orphaned claims. Checked at
   * most once per interval per coupon across all instances (the lock is the interval; each process asks for
   * it at most once per interval too), so a drop's thousands of "sold out" answers cost one cheap read now
   * and then. True if units were given back.
   */
  async #recoverLeakedUnits(couponId: string): Promise<boolean> {
    const now = Date.now();
    if ((this.#nextAuditAt.get(couponId) ?? 0) > now) return false;
    if (this.#nextAuditAt.size >= 10_000) this.#nextAuditAt.clear();
    this.#nextAuditAt.set(couponId, now + this.#timing.auditIntervalMs);
    const turn = await this.deps.locks
      .tryAcquire(`coupon-audit:{coupon:${couponId}}`, this.#timing.auditIntervalMs)
      .catch(() => undefined);
    if (!turn) return false;
    const coupon = await this.deps.coupons.find(couponId);
    if (!coupon || coupon.issuedQuantity >= coupon.totalQuantity) return false;
    const result = await this.deps.reconciliation.reconcile(couponId, { repair: true });
    return result.repaired;
  }

  /** Gives a claim back; a failure leaves a unit held for nobody, recovered as an orphan later. */
  async #release(
    ticket: ClaimTicket,
    reason: CompensationReason,
    options: { markStale?: boolean } = {},
  ): Promise<boolean> {
    try {
      const released = await this.deps.claims.release(ticket, options);
      this.deps.observer?.compensation(reason);
      return released;
    } catch (error) {
      this.deps.observer?.compensation(reason, error);
      return false;
    }
  }

  #isOld(ticket: ClaimTicket): boolean {
    return ticket.claimedAtMs > 0 && this.deps.clock.now().getTime() - ticket.claimedAtMs > this.#timing.orphanGraceMs;
  }

  async #find(couponId: string): Promise<Coupon> {
    const coupon = await this.deps.coupons.find(couponId);
    if (!coupon) throw new DomainError("COUPON_NOT_FOUND", `No coupon ${couponId}`);
    return coupon;
  }

  async #observe<T>(path: IssuePath, work: () => Promise<T>): Promise<T> {
    try {
      const result = await work();
      this.deps.observer?.issueOutcome(path, "issued");
      return result;
    } catch (error) {
      const result = error instanceof DomainError ? (RESULTS[error.code] ?? "rejected") : "error";
      this.deps.observer?.issueOutcome(path, result);
      throw error;
    }
  }
}

interface NotFound {
  kind: "not_found";
}

/** Contract: the caller is that user, or the coupon's issuer, or an ADMIN. */
function assertMayIssueTo(actor: Actor, coupon: Coupon, userId: string): void {
  if (actor.role === "ADMIN" || actor.userId === userId || actor.userId === coupon.issuerId) return;
  throw new DomainError("FORBIDDEN", "Coupons are issued to the caller, or by the coupon's issuer or an ADMIN");
}
