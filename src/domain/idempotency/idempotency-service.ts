import type { Clock } from "../shared/clock";
import { DomainError } from "../shared/errors";
import type { IdempotencyRepository, IdempotencyScope, StoredResponse } from "./ports";

export const KEY_TTL_MS = 24 * 3600 * 1000;
/** How long a request may hold its key before another request may assume its process died. */
export const IN_FLIGHT_LEASE_MS = 60 * 1000;

export type IdempotencyDecision = { kind: "proceed" } | { kind: "replay"; response: StoredResponse };

/**
 * Stripe-style idempotency keys: the first request with a key runs and its response is stored;
 * the same key and body later gets that response again, a different body gets 422, and a request
 * arriving while the first is still running gets 409.
 */
export class IdempotencyService {
  constructor(
    private readonly repository: IdempotencyRepository,
    private readonly clock: Clock,
  ) {}

  async begin(id: IdempotencyScope, requestHash: string): Promise<IdempotencyDecision> {
    const now = this.clock.now();
    const claimed = await this.repository.claim(
      id,
      requestHash,
      now,
      new Date(now.getTime() + IN_FLIGHT_LEASE_MS),
      new Date(now.getTime() + KEY_TTL_MS),
    );
    if (claimed) return { kind: "proceed" };
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

  /** Stores what the first request answered, so retries get exactly that. */
  complete(id: IdempotencyScope, response: StoredResponse): Promise<void> {
    return this.repository.complete(id, response);
  }

  /** The request failed on our side (5xx): forget the key so the client's retry runs again. */
  release(id: IdempotencyScope): Promise<void> {
    return this.repository.release(id);
  }

  purgeExpired(): Promise<number> {
    return this.repository.purgeExpired(this.clock.now());
  }
}
