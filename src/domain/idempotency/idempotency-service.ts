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
   * write in between can never leave a change without its stored answer (a retry would repeat it).
   * Answers below 500 are stored and committed with what the request wrote: its services have already
   * undone their own failed units of work (savepoints), exactly as without a key. But a refusal (4xx) made
   * before the request wrote anything is not stored (contract: Idempotency): the key is released and a
   * retry is decided again, so refusals never pile up as rows and one based on passing state is never
   * kept for 24 h. A 5xx, or an answer to ask again later (Retry-After, see isFinal), rolls everything back and
   * releases the key, so the client's retry runs again.
   * Returns false, with everything rolled back, if the key was taken over meanwhile (this request outlived
   * its lease).
   */
  async runClaimed(id: IdempotencyScope, claimToken: string, request: () => Promise<StoredResponse>): Promise<boolean> {
    try {
      return await this.unitOfWork.withTransaction(async () => {
        const response = await request();
        const wrote = response.status < 400 || (await this.unitOfWork.hasWritten());
        if (!keepsAnswer(response, { wrote })) throw new Discard(isFinal(response) ? "refused" : "not final");
        if (!(await this.repository.complete(id, claimToken, response))) throw new Discard("key lost");
        return true;
      });
    } catch (error) {
      if (error instanceof Discard && error.reason === "key lost") return false;
      await this.repository.release(id, claimToken);
      if (error instanceof Discard) return true;
      throw error;
    }
  }

  /**
   * Stores the answer of a claimed request that committed its own work (see idempotentAcrossCommits) for
   * replays, or releases the key so that the client's retry runs again: after a 5xx or an answer to ask again later (Retry-After), after a refusal made
   * before any effect (every 4xx but 402, which a payment answers after recording its failure), and when
   * the answer is provisional (it rests on state still being repaired).
   */
  async recordOutcome(
    id: IdempotencyScope,
    claimToken: string,
    response: StoredResponse,
    options: { provisional?: boolean } = {},
  ): Promise<void> {
    // These handlers commit as they go; of their refusals only a 402 comes after an effect (a payment answers it
    // once its failure is recorded).
    const wrote = response.status === 402;
    if (keepsAnswer(response, { wrote, provisional: options.provisional })) {
      await this.repository.complete(id, claimToken, response);
    } else {
      await this.repository.release(id, claimToken);
    }
  }

  purgeExpired(): Promise<number> {
    return this.repository.purgeExpired(this.clock.now());
  }
}
