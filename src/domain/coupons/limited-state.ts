import type { OutboxWriter } from "../outbox/ports";
import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { LockManager } from "../shared/ports";
import type { UnitOfWork } from "../shared/unit-of-work";
import { ClaimBatches } from "./claim-batches";
import type { HeldCouponView } from "./coupon";
import { recordIssue } from "./issue-record";
import { claimNotRecordedYet, showsDrift, stateBeingRebuilt } from "./issue-refusals";
import { type IssueTiming, isPastGrace, RECORD_WAIT_MS } from "./issue-timing";
import type {
  ClaimOutcome,
  ClaimTicket,
  CompensationReason,
  CouponClaims,
  CouponIssueObserver,
  CouponRepository,
  UserCouponRepository,
} from "./ports";

/** A build whose snapshot keeps being overtaken by lifecycle changes gives up (busy) after this many reads. */
const MAX_SNAPSHOT_READS = 3;

export interface LimitedStateDeps {
  coupons: CouponRepository;
  userCoupons: UserCouponRepository;
  claims: CouponClaims;
  locks: LockManager;
  unitOfWork: UnitOfWork;
  outbox: OutboxWriter;
  clock: Clock;
  newId: () => string;
  observer?: CouponIssueObserver;
  timing: IssueTiming;
}

/** What a claim in the limited-issue state ends as (the state built first if it had none). */
export type Claimed = Exclude<ClaimOutcome, { kind: "not_loaded" }> | { kind: "not_found" };

/**
 * The limited path's side of the drop: the Redis state that decides first come, first served, kept honest with
 * PostgreSQL. It builds the state when there is none (one builder per coupon across instances), tells a claim
 * still being written from an orphan of a dead request, writes granted claims (grouped when it can), and gives a
 * claim back whenever PostgreSQL does not count it: each compensation beside the step it undoes.
 */
export class LimitedIssueState {
  readonly #batches: ClaimBatches;
  /** Claims this process is writing, by coupon and user. */
  readonly #writing = new Map<string, Promise<HeldCouponView>>();

  constructor(private readonly deps: LimitedStateDeps) {
    this.#batches = new ClaimBatches(deps);
  }

  /** Claims in Redis, building the state from PostgreSQL when there is none (first use, lost keys, drift). */
  async claim(couponId: string, userId: string): Promise<Claimed> {
    const giveUpAt = this.deps.clock.now().getTime() + this.deps.timing.stateWaitMs;
    let orphanChecks = 0;
    for (;;) {
      const outcome = await this.deps.claims.claim(couponId, userId);
      if (outcome.kind === "not_loaded") {
        const built = await this.#build(couponId, outcome.epoch);
        if (built === "not_found") return { kind: "not_found" };
        if (built === "busy") {
          if (this.deps.clock.now().getTime() > giveUpAt) throw stateBeingRebuilt();
          await this.deps.clock.sleep(10 + Math.random() * 20);
        }
        continue;
      }
      // A claim PostgreSQL loaded (time 0) is a holder. Any other is only as true as its write: its request
      // may still be writing it, or may have died (then the user holds nothing and must not hear otherwise).
      if (outcome.kind === "already_issued" && outcome.ticket.claimedAtMs > 0 && orphanChecks < 2) {
        orphanChecks++;
        if (!(await this.#recorded(outcome.ticket))) {
          if (!this.#isOld(outcome.ticket)) throw this.#notRecordedYet(outcome.ticket);
          // Past the grace: an orphan. It goes, and the user claims again (first come, as anyone).
          await this.release(outcome.ticket, "orphaned");
          continue;
        }
      }
      return outcome;
    }
  }

  /** Writes a claim Redis granted, known to this process while it runs: a second claim of the same user waits for it. */
  async write(ticket: ClaimTicket): Promise<HeldCouponView> {
    const key = `${ticket.couponId}:${ticket.userId}`;
    const writing = this.#recordClaim(ticket);
    this.#writing.set(key, writing);
    try {
      return await writing;
    } finally {
      if (this.#writing.get(key) === writing) this.#writing.delete(key);
    }
  }

  /** Tells the limited-issue state about a database-path holder (best effort: PostgreSQL decides anyway). */
  async noteHolder(couponId: string, userId: string): Promise<void> {
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
        await this.release(noted, "rolled_back");
      });
    }
  }

  /** Gives a claim back; a failure leaves a unit held for nobody, recovered as an orphan later. */
  async release(
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

  /** One builder per coupon across every instance (a lock); the others wait and claim once it is there. */
  async #build(couponId: string, seenEpoch: string | null): Promise<"built" | "busy" | "not_found"> {
    const lock = await this.deps.locks.tryAcquire(`coupon-state:{coupon:${couponId}}`, this.deps.timing.buildLockMs);
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
      held = await recordIssue(this.deps, ticket.couponId, ticket.userId, "limited");
    } catch (error) {
      if (error instanceof DomainError && error.code === "COUPON_ALREADY_ISSUED") {
        // PostgreSQL already had this holder (the state had lost it): the claim now says what is true. Keep it.
        throw error;
      }
      // Sold out, closed or gone in PostgreSQL: the state drifted, so give the claim back and rebuild it.
      // Any other failure (an unknown user, the database down): give the claim back, the state is right.
      const drifted = error instanceof DomainError && showsDrift(error);
      await this.release(ticket, error instanceof DomainError ? "refused" : "failed", { markStale: drifted });
      throw error;
    }
    // Inside a caller's transaction (an Idempotency-Key request), the write only counts once that commits.
    this.deps.unitOfWork.onRollback(async () => {
      await this.release(ticket, "rolled_back");
    });
    return held;
  }

  /** The user's claim is in the state but not (yet) in PostgreSQL, and younger than the grace. */
  #notRecordedYet(ticket: ClaimTicket): DomainError {
    return claimNotRecordedYet(ticket.claimedAtMs + this.deps.timing.orphanGraceMs - this.deps.clock.now().getTime());
  }

  #isOld(ticket: ClaimTicket): boolean {
    return isPastGrace(ticket, this.deps.clock.now().getTime(), this.deps.timing);
  }
}
