import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { UnitOfWork } from "../shared/unit-of-work";
import type { IdempotencyRepository, IdempotencyScope, StoredResponse } from "./ports";

export const KEY_TTL_MS = 24 * 3600 * 1000;
/** How long a request may hold its key before a retry of it may assume its process died. */
export const IN_FLIGHT_LEASE_MS = 60 * 1000;

export type IdempotencyDecision =
  | { kind: "proceed"; claimToken: string }
  | { kind: "replay"; response: StoredResponse };

export interface RequestOutcome {
  response: StoredResponse;
  /** The request ended in an error raised by our code: whatever it wrote must not be kept. */
  failed: boolean;
}

/** Thrown inside the transaction to roll back a request's writes while keeping its outcome. */
class Discard extends Error {
  constructor(readonly outcome: RequestOutcome) {
    super("discard");
  }
}

/**
 * Stripe-style idempotency keys: the first request with a key runs and its response is stored;
 * the same key and body later gets that response again, a different body gets 422, and a request
 * arriving while the first is still running gets 409.
 */
export class IdempotencyService {
  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly unitOfWork: UnitOfWork,
    private readonly clock: Clock,
  ) {}

  async begin(id: IdempotencyScope, requestHash: string): Promise<IdempotencyDecision> {
    const now = this.clock.now();
    const claimToken = crypto.randomUUID();
    const claimed = await this.repository.claim(id, {
      requestHash,
      claimToken,
      now,
      leaseUntil: new Date(now.getTime() + IN_FLIGHT_LEASE_MS),
      expiresAt: new Date(now.getTime() + KEY_TTL_MS),
    });
    if (claimed) return { kind: "proceed", claimToken };
    const existing = await this.repository.find(id);
    // Gone between the two statements (released by a failed first try): the client may simply retry.
    if (!existing) throw new DomainError("IDEMPOTENCY_KEY_IN_USE", "The key was just released; retry the request");
    if (existing.requestHash !== requestHash) {
      throw new DomainError("IDEMPOTENCY_KEY_REUSED", "This Idempotency-Key was used with a different request");
    }
    if (!existing.response) {
      throw new DomainError("IDEMPOTENCY_KEY_IN_USE", "A request with this Idempotency-Key is still in progress");
    }
    return { kind: "replay", response: existing.response };
  }

  /**
   * Runs a claimed request in one transaction with the storing of its response, so a crash or a failed
   * write in between can never leave a change without its stored answer (and a retry would repeat it).
   * A request that failed has its writes rolled back: a 4xx is still stored (a retry gets the same
   * answer), a 5xx releases the key so the retry runs again. Returns false, with everything rolled back,
   * if the key was taken over meanwhile (this request outlived its lease).
   */
  async runClaimed(id: IdempotencyScope, claimToken: string, request: () => Promise<RequestOutcome>): Promise<boolean> {
    try {
      return await this.unitOfWork.withTransaction(async () => {
        const outcome = await request();
        if (outcome.failed || outcome.response.status >= 500) throw new Discard(outcome);
        if (!(await this.repository.complete(id, claimToken, outcome.response))) {
          throw new Discard({ ...outcome, failed: true });
        }
        return true;
      });
    } catch (error) {
      if (!(error instanceof Discard)) {
        await this.repository.release(id, claimToken);
        throw error;
      }
      const { response } = error.outcome;
      if (response.status >= 500) {
        await this.repository.release(id, claimToken);
        return true;
      }
      return this.repository.complete(id, claimToken, response);
    }
  }

  purgeExpired(): Promise<number> {
    return this.repository.purgeExpired(this.clock.now());
  }
}
