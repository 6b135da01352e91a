import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { KeyAnswerStep, KeyLookStep, OpeningStep, UnitOfWork } from "../shared/unit-of-work";
import type { IdempotencyRecord, IdempotencyRepository, IdempotencyScope, KeyLook, StoredResponse } from "./ports";

export const KEY_TTL_MS = 24 * 3600 * 1000;
/** How long a request may hold its key before a retry of it may assume its process died. */
export const IN_FLIGHT_LEASE_MS = 60 * 1000;

/**
 * What a key's record says about a new request with it. `proceed`: nobody holds the key (never used, past its
 * 24 h, or held by a request whose process died: its lease ran out); `replay`: the stored answer; `in flight`:
 * another request holds it now (its caller may answer from what that request recorded, else 409).
 */
export type IdempotencyDecision =
  | { kind: "proceed" }
  | { kind: "replay"; response: StoredResponse }
  | { kind: "in flight"; abandoned: boolean };

/** What a request kept with its key's claim: the claim's fencing token, and whether the claim has committed. */
export interface KeyClaim extends OpeningStep {
  claimToken: string;
  /** Set when the claim found the key held by another request (it threw 409). */
  refused?: boolean;
}

/** A key's look made ahead of a request that commits step by step (IdempotencyService.lookAhead), once settled. */
export type AheadLook = KeyLookStep & {
  /** Set when the request is not to run: the error it answers with, unless one of the two below answers. */
  stop?: Error;
  /** The key's stored answer, to replay. */
  replay?: StoredResponse;
  /** The key is in flight: the route's own record may answer it (recordAnswer), else `stop` (409). */
  fromRecord?: boolean;
};

const inUse = () =>
  new DomainError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still in progress");

/** Thrown inside the transaction to roll back a request's writes. */
class Discard extends Error {
  constructor(readonly reason: "not final" | "refused" | "key lost") {
    super(reason);
  }
}

/**
 * Whether an answer may be stored as the key's answer for 24 h. A 5xx failed on our side; an answer with
 * Retry-After rests on state still being repaired or rebuilt (a claim not recorded yet, units that may come
 * back, Redis away): the client is told to ask again, so the key is released for that retry.
 */
export function isFinal(response: StoredResponse): boolean {
  return response.status < 500 && response.headers["retry-after"] === undefined;
}

/** Whether two answers are the same for a replay (status, body, the replayed headers). */
function sameAnswer(a: StoredResponse, b: StoredResponse | undefined): boolean {
  if (!b || a.status !== b.status || a.body !== b.body) return false;
  const names = new Set([...Object.keys(a.headers), ...Object.keys(b.headers)]);
  for (const name of names) if (a.headers[name] !== b.headers[name]) return false;
  return true;
}

/**
 * The one rule for what a key keeps for 24 h (contract: Idempotency): a final answer (see isFinal) that is not
 * provisional, and, if it is a refusal (4xx), only when the request wrote something first: a refusal made before
 * any effect is decided again by the retry, so one based on passing state is never kept.
 */
export function keepsAnswer(response: StoredResponse, request: { wrote: boolean; provisional?: boolean }): boolean {
  if (!isFinal(response) || request.provisional) return false;
  return response.status < 400 || request.wrote;
}

/**
 * Stripe-style idempotency keys: the first request with a key runs and its response is stored;
 * the same key and body later gets that response again, a different body gets 422, and a request
 * arriving while the first is still running gets 409.
 *
 * A key costs no commit of its own: it is claimed in the request's first transaction and, for a request whose
 * work is one transaction, stored with its answer in that same one (docs/checkout-performance.md). A request
 * that has not committed yet holds the key's transaction-scoped lock in PostgreSQL, so a second request with the
 * key, on any instance, is answered 409 without waiting for it; one that died before its commit left nothing.
 */
export class IdempotencyService {
  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  /** What the key's committed record says about a request with `requestHash`; 422 for another body. */
  decide(record: IdempotencyRecord | undefined, requestHash: string): IdempotencyDecision {
    const now = this.clock.now();
    if (!record || record.expiresAt < now) return { kind: "proceed" };
    if (record.requestHash !== requestHash) {
      throw new DomainError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    if (record.response) return { kind: "replay", response: record.response };
    // In flight: its process died if its lease ran out (a retry may take it over), else it is still running.
    return { kind: "in flight", abandoned: record.lockedUntil !== null && record.lockedUntil < now };
  }

  /** The decision for a request about to run, from the key's record as committed now (one read, no write). */
  async begin(id: IdempotencyScope, requestHash: string): Promise<IdempotencyDecision> {
    return this.decide(await this.repository.find(id), requestHash);
  }

  /**
   * The claim of a request that commits step by step (see UnitOfWork.withOpening): run as the first statement
   * of its first transaction, it takes the key in flight with a lease, committed with that transaction's work
   * (a rollback, a refusal before any effect, leaves no key behind). It throws 409 when another request holds
   * the key (its transaction is open, or its committed claim is live), so that transaction does nothing.
   */
  claimInFirstTransaction(id: IdempotencyScope, requestHash: string): KeyClaim {
    const terms = () => {
      const now = this.clock.now();
      return {
        requestHash,
        claimToken: claim.claimToken,
        now,
        leaseUntil: new Date(now.getTime() + IN_FLIGHT_LEASE_MS),
        expiresAt: new Date(now.getTime() + KEY_TTL_MS),
      };
    };
    const settle = (claimed: boolean) => {
      if (!claimed) {
        claim.refused = true;
        throw inUse();
      }
    };
    const claim: KeyClaim = {
      claimToken: crypto.randomUUID(),
      committed: false,
      run: async () => settle(await this.repository.claim(id, terms())),
      // The same claim, for a statement that takes it in itself (a payment's start: one statement fewer).
      claim: { terms: () => ({ id, claim: terms() }), settle },
    };
    return claim;
  }

  /**
   * Runs `work` (a request's handler) so that its first transaction begins with `claim` (see above); with `look`
   * (lookAhead), so that the key's look is made before anything else it sends, taken in by its first read.
   */
  runClaiming<T>(claim: KeyClaim, work: () => Promise<T>, look?: KeyLookStep): Promise<T> {
    if (!look) return this.unitOfWork.withOpening(claim, work);
    return this.unitOfWork.withKeyLookAhead(look, () => this.unitOfWork.withOpening(claim, work));
  }

  /**
   * The key's look of a request that commits step by step (idempotentAcrossCommits: a payment), taken in by the
   * request's first read instead of being a statement of its own (UnitOfWork.withKeyLookAhead). It is made outside
   * any transaction, so it takes no lock: it is the key's committed row, as `begin` reads it, and the claim, in the
   * request's first commit, is still the fence (a request that claimed or finished the key after this look meets
   * its row there, throws 409, and is answered again from the key). `settle` decides as `begin` and the answer of
   * a key in flight did: answered → the replay, another body → 422; in flight → the route's record answers it when
   * the read found that record final (`answeredByRecord`), else 409 while its lease runs, else (its process died)
   * the request runs and finishes what the first one recorded. It throws when the request is not to run, so that
   * nothing after the read runs; the caller answers from `replay`, asks the route's record (`fromRecord`), or
   * answers `stop`. Made alone (`run`: the request's first statement could not carry it), the record is not read
   * with the key: a key in flight is then for the route's record to answer (`fromRecord`) while its lease runs, and
   * is taken over once it ran out without asking it (the request's own reads find what its key made). A request
   * that sent nothing is decided by the middleware after it, as when the key was read first (its record asked).
   */
  lookAhead(id: IdempotencyScope, requestHash: string): AheadLook {
    const look: AheadLook = {
      id,
      settled: false,
      run: async () => look.settle({ free: true, record: await this.repository.find(id) }),
      settle: ({ record, answeredByRecord }: KeyLook) =>
        this.#settle(look, record, requestHash, (decision) => {
          if (decision.kind !== "in flight") return;
          if (answeredByRecord || (answeredByRecord === undefined && !decision.abandoned)) {
            look.fromRecord = true;
            throw inUse();
          }
          if (!decision.abandoned) throw inUse();
        }),
    };
    return look;
  }

  /**
   * Runs a request whose work is one unit in one transaction that begins with the key's lock and ends with its
   * stored answer: one commit for the work, the key and the answer, so a crash can never leave the change
   * without its answer (nor the key without the change). The first statement takes the key's lock without
   * waiting and reads its record: answered → the replay (nothing runs), another body → 422, whoever holds the
   * lock (a live answered row is never written over); else held by another open transaction, or by a live
   * request in flight → 409. Answers below 500 are stored and committed with
   * what the request wrote: its services have already undone their own failed units of work (savepoints),
   * exactly as without a key. But a refusal (4xx) made before the request wrote anything is not stored
   * (contract: Idempotency): the transaction rolls back and the key stays free, so refusals never pile up as
   * rows and one based on passing state is never kept for 24 h. A 5xx, or an answer to ask again later
   * (Retry-After, see isFinal), rolls everything back too, so the client's retry runs again.
   * Returns the replay to answer, or undefined when `request` ran and its answer stands.
   */
  async runKeyed(
    id: IdempotencyScope,
    requestHash: string,
    request: () => Promise<StoredResponse>,
    /**
     * The request's first statement is a read that can take the key's look in (an order's products: one
     * statement fewer, see UnitOfWork.withKeyLook); otherwise the look is the transaction's own first statement.
     */
    options: {
      lookTakenIn?: boolean;
      /**
       * What the request will answer, from the result its work announces before its last write
       * (UnitOfWork.answerAhead: an order as it will be written): the key's answer is then stored by that write,
       * the transaction's last statement, instead of a statement of its own after it.
       */
      answerAhead?: (result: unknown) => StoredResponse;
    } = {},
  ): Promise<StoredResponse | undefined> {
    const look = this.#keyLook(id, requestHash);
    const answer: KeyAnswerStep = { id };
    const { answerAhead } = options;
    const work = answerAhead
      ? () =>
          this.unitOfWork.withKeyAnswer(
            answer,
            (result) => {
              const now = this.clock.now();
              const expiresAt = new Date(now.getTime() + KEY_TTL_MS);
              const claim = { requestHash, claimToken: crypto.randomUUID(), now, expiresAt };
              answer.ready = { response: answerAhead(result), claim };
            },
            request,
          )
      : request;
    try {
      await this.unitOfWork.withTransaction(async () => {
        let response: StoredResponse;
        if (options.lookTakenIn) {
          response = await this.unitOfWork.withKeyLook(look, work);
          // The request sent nothing (refused before reading anything): the key's answer still comes first.
          if (!look.settled && isFinal(response)) await look.run();
        } else {
          await look.run();
          response = await work();
        }
        // Stopped by its look (its answer was the look's error): that decides, not the request's answer.
        if (look.stop) throw look.stop;
        // Stored by the work's last write, if that write carried it: it must be what the request answers.
        if (answer.stored === false) throw new Discard("key lost");
        if (answer.stored) {
          // Answered otherwise by the time limit (503, Retry-After: the client retries): rolled back like any
          // answer not final, not an error.
          if (!isFinal(response)) throw new Discard("not final");
          if (!sameAnswer(response, answer.ready?.response)) {
            throw new Error("the request answered otherwise than the answer its work stored ahead");
          }
          return;
        }
        const wrote = response.status < 400 || (await this.unitOfWork.hasWritten());
        if (!keepsAnswer(response, { wrote })) throw new Discard(isFinal(response) ? "refused" : "not final");
        const now = this.clock.now();
        const stored = await this.repository.claimAnswered(
          id,
          { requestHash, claimToken: crypto.randomUUID(), now, expiresAt: new Date(now.getTime() + KEY_TTL_MS) },
          response,
        );
        if (!stored) throw new Discard("key lost");
      });
    } catch (error) {
      if (look.replay) return look.replay;
      if (look.stop) throw look.stop;
      if (!(error instanceof Discard)) throw error;
      if (error.reason === "key lost") {
        // Another request with the key committed its answer between this one's first look and its lock (the
        // look's snapshot predates that commit): this one's work is rolled back; answer as that one did.
        const decision = await this.begin(id, requestHash);
        if (decision.kind === "replay") return decision.response;
        throw inUse();
      }
    }
    return undefined;
  }

  /**
   * The first read of a keyed transaction (runKeyed): the key's lock, tried without waiting, and its committed
   * record. `settle` decides from them, and throws when the request is not to run, so that nothing after the look
   * runs (when a statement of the request took it in, the request's handler sees the error and answers with it;
   * runKeyed then answers from `stop` or `replay`): answered → the replay, another body → 422, whoever holds the
   * lock; else held by another open transaction, or by a live request in flight → 409. An abandoned in-flight row
   * (a request that commits step by step, of an older release) is taken over.
   */
  #keyLook(id: IdempotencyScope, requestHash: string): KeyLookStep & { stop?: Error; replay?: StoredResponse } {
    const look: KeyLookStep & { stop?: Error; replay?: StoredResponse } = {
      id,
      settled: false,
      run: async () => look.settle(await this.repository.lockAndFind(id)),
      // A live committed row decides first, whoever holds the lock (another retry replaying it in its own
      // transaction): a live answered row is never written over, so its answer (or 422 for another body) is
      // final; the lock only matters when nothing final is committed for the key.
      settle: ({ free, record }: KeyLook) =>
        this.#settle(look, record, requestHash, (decision) => {
          if (!free) throw inUse();
          if (decision.kind === "in flight" && !decision.abandoned) throw inUse();
        }),
    };
    return look;
  }

  /**
   * Settles a key's look (lookAhead's, #keyLook's) from the key's committed record: a stored answer → its replay,
   * another body → 422 (decide), then `rest` for the look's own rules; whatever stops the request is kept as `stop`
   * (and `replay`) and thrown, so that nothing after the look runs.
   */
  #settle(
    look: { settled: boolean; stop?: Error; replay?: StoredResponse },
    record: IdempotencyRecord | undefined,
    requestHash: string,
    rest: (decision: IdempotencyDecision) => void,
  ): void {
    look.settled = true;
    try {
      const decision = this.decide(record, requestHash);
      if (decision.kind === "replay") {
        look.replay = decision.response;
        throw inUse();
      }
      rest(decision);
    } catch (error) {
      look.stop = error as Error;
      throw error;
    }
  }

  /**
   * Stores the answer of a request that committed its own work step by step (see idempotentAcrossCommits) for
   * replays, or releases its key so that the client's retry runs again: after a 5xx or an answer to ask again
   * later (Retry-After), after a refusal made before any effect (every 4xx but 402, which a payment answers
   * after recording its failure), and when the answer is provisional (it rests on state still being repaired).
   * A key claimed by no committed transaction (the request wrote nothing, or it answered from what an earlier
   * request recorded) has nothing to release; its answer is stored if it is to be kept and the key is free.
   * `answeredByRecord`: the route answers replays of this answer from the request's own record (a payment
   * carries its key), so the key stays in flight and the answer costs no commit of its own.
   */
  async recordOutcome(
    id: IdempotencyScope,
    requestHash: string,
    claim: KeyClaim,
    response: StoredResponse,
    options: { provisional?: boolean; answeredByRecord?: boolean } = {},
  ): Promise<void> {
    // These handlers commit as they go; of their refusals only a 402 comes after an effect (a payment answers it
    // once its failure is recorded).
    const wrote = response.status === 402;
    const keep = keepsAnswer(response, { wrote, provisional: options.provisional });
    if (keep && options.answeredByRecord) return;
    if (!claim.committed) {
      // A claim in doubt (a statement that carried it failed without an answer: it may have committed) is
      // released by its token, which deletes nothing if it was never made: else the client's retry would meet its
      // own dead request's key in flight (409) for the lease's minute.
      if (!keep && claim.inDoubt) await this.repository.release(id, claim.claimToken);
      if (!keep) return;
      const now = this.clock.now();
      const expiresAt = new Date(now.getTime() + KEY_TTL_MS);
      await this.repository.claimAnswered(id, { requestHash, claimToken: claim.claimToken, now, expiresAt }, response);
    } else if (keep) {
      await this.repository.complete(id, claim.claimToken, response);
    } else {
      await this.repository.release(id, claim.claimToken);
    }
  }

  purgeExpired(): Promise<number> {
    return this.repository.purgeExpired(this.clock.now());
  }
}
