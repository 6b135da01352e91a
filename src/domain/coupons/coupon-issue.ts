import { IN_FLIGHT_LEASE_MS } from "../idempotency/idempotency-service";
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
import { StateRechecks } from "./state-rechecks";
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
   * died) and is given back; a younger one may still be written, so refusals based on it are not final (they
   * carry Retry-After). It must end well inside the idempotency lease (see assertTimingAgrees): a keyed retry
   * takes the key over only once the lease has run out, and must then find its dead request's claim
   * recoverable, not hear COUPON_ALREADY_ISSUED. Giving back a claim whose write is in fact still under way
   * is safe: PostgreSQL's conditional writes decide, and the state is repaired from them.
   */
  orphanGraceMs: number;
  /** At most one check for units stuck in orphaned claims per coupon this often, when the state says sold out. */
  auditIntervalMs: number;
}

export const DEFAULT_ISSUE_TIMING: IssueTiming = {
  stateWaitMs: 5_000,
  buildLockMs: 10_000,
  orphanGraceMs: 30_000,
  auditIntervalMs: 10_000,
};

/**
 * A request claims within `stateWaitMs` of taking its Idempotency-Key; a retry may take the key over after
 * IN_FLIGHT_LEASE_MS. The dead request's claim must be past the grace by then, with room to spare.
 */
export function assertTimingAgrees(timing: IssueTiming, leaseMs = IN_FLIGHT_LEASE_MS): void {
  if (timing.stateWaitMs + timing.orphanGraceMs + ORPHAN_MARGIN_MS > leaseMs) {
    throw new Error(
      `orphanGraceMs (${timing.orphanGraceMs}) + stateWaitMs (${timing.stateWaitMs}) must end ${ORPHAN_MARGIN_MS} ms before the idempotency lease (${leaseMs})`,
    );
  }
}

const ORPHAN_MARGIN_MS = 10_000;
/** Retry-After of a refusal that rests on claims still being recorded or recovered: soon, and never long. */
const SETTLING_RETRY_SECONDS = 2;
const MAX_SETTLING_RETRY_SECONDS = 5;
/** How long a claim of the user found in the state, not yet in PostgreSQL, is waited for before a 503. */
const RECORD_WAIT_MS = 1_000;

/** Sold out in the state, not in PostgreSQL: units held by claims not recorded may come back. Not final. */
const soldOutForNow = () =>
  new DomainError(
    "COUPON_SOLD_OUT",
    "Every unit is claimed, but some claims are still being recorded or recovered and units may come back; retry shortly",
    undefined,
    { retryAfterSeconds: SETTLING_RETRY_SECONDS },
  );

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
  readonly #batches: ClaimBatches;
  readonly #rechecks: StateRechecks;
  /** Claims this process is writing, by coupon and user. */
  readonly #writing = new Map<string, Promise<HeldCouponView>>();

  constructor(private readonly deps: CouponIssueDeps) {
    this.#timing = { ...DEFAULT_ISSUE_TIMING, ...deps.timing };
    this.#batches = new ClaimBatches(deps);
    this.#rechecks = new StateRechecks({ ...deps, auditIntervalMs: this.#timing.auditIntervalMs });
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
      const rechecks = this.#rechecks;
      if (outcome.kind === "not_active" && outcome.reason === "lifecycle" && (await rechecks.caughtUp(couponId))) {
        outcome = await this.#claim(couponId, userId);
      }
      if (outcome.kind === "sold_out" && !(await rechecks.soldOutForGood(couponId))) {
        // PostgreSQL has units left: claims not recorded hold them (in flight, or orphaned by a dead request).
        if (await rechecks.recoverLeakedUnits(couponId)) outcome = await this.#claim(couponId, userId);
        if (outcome.kind === "sold_out") throw soldOutForNow();
      }
      switch (outcome.kind) {
        case "claimed":
          return this.#writeTracked(outcome.ticket);
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
    const giveUpAt = this.deps.clock.now().getTime() + this.#timing.stateWaitMs;
    let orphanChecks = 0;
    for (;;) {
      const outcome = await this.deps.claims.claim(couponId, userId);
      if (outcome.kind === "not_loaded") {
        const built = await this.#build(couponId, outcome.epoch);
        if (built === "not_found") return { kind: "not_found" };
        if (built === "busy") {
          if (this.deps.clock.now().getTime() > giveUpAt) {
            throw new DomainError(
              "UNAVAILABLE",
              "The coupon's issue state is being rebuilt; retry shortly",
              undefined,
              {
                retryAfterSeconds: 1,
              },
            );
          }
          await this.deps.clock.sleep(10 + Math.random() * 20);
        }
        continue;
      }
      // A claim PostgreSQL loaded (time 0) is a holder. Any other is only as true as its write: its request
      // may still be writing it, or may have died (then the user holds nothing and must not hear otherwise).
      if (outcome.kind === "already_issued" && outcome.ticket.claimedAtMs > 0 && orphanChecks < 2) {
        orphanChecks++;
        if (!(await this.#recorded(outcome.ticket))) {
          if (!this.#isOld(outcome.ticket)) throw this.#claimNotRecordedYet(outcome.ticket);
          // Past the grace: an orphan. It goes, and the user claims again (first come, as anyone).
          await this.#release(outcome.ticket, "orphaned");
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

  /** #recordClaim, known to this process while it runs: a second claim of the same user waits for it. */
  async #writeTracked(ticket: ClaimTicket): Promise<HeldCouponView> {
    const key = `${ticket.couponId}:${ticket.userId}`;
    const writing = this.#recordClaim(ticket);
    this.#writing.set(key, writing);
    try {
      return await writing;
    } finally {
      if (this.#writing.get(key) === writing) this.#writing.delete(key);
    }
  }

  /**
   * Whether PostgreSQL has the user's claim. A young claim may be a write under way (a double click, a client
   * retrying too soon): its write in this process is awaited, and PostgreSQL asked again for a moment, so the
   * usual answer is a final COUPON_ALREADY_ISSUED rather than a request to retry.
   */
  async #recorded(ticket: ClaimTicket): Promise<boolean> {
    const holds = () => this.deps.userCoupons.holds(ticket.couponId, ticket.userId);
    await this.#writing.get(`${ticket.couponId}:${ticket.userId}`)?.catch(() => {});
    if (this.#isOld(ticket)) return holds();
    const giveUpAt = this.deps.clock.now().getTime() + RECORD_WAIT_MS;
    for (let pauseMs = 20; ; pauseMs *= 2) {
      if (await holds()) return true;
      if (this.deps.clock.now().getTime() + pauseMs > giveUpAt) return false;
      await this.deps.clock.sleep(pauseMs);
    }
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

  /** The user's claim is in the state but not (yet) in PostgreSQL, and younger than the grace. */
  #claimNotRecordedYet(ticket: ClaimTicket): DomainError {
    const graceLeftMs = ticket.claimedAtMs + this.#timing.orphanGraceMs - this.deps.clock.now().getTime();
    return new DomainError(
      "UNAVAILABLE",
      "Your earlier claim of this coupon is not recorded yet (its request may still be running, or may have failed); retry shortly",
      undefined,
      { retryAfterSeconds: Math.min(MAX_SETTLING_RETRY_SECONDS, Math.max(1, Math.ceil(graceLeftMs / 1000))) },
    );
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
