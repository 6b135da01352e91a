import { LRUCache } from "lru-cache";
import type { TokenState, TokenStates, UserRepository } from "../../domain/users/ports";

/** Tells the other instances to drop their copy of a user's token state (Redis pub/sub, or nothing alone). */
export interface Invalidations {
  publish(userId: string): Promise<void>;
  onMessage(handler: (userId: string) => void): void;
}

/**
 * Token states read through an in-process copy kept `ttlMs` (0: every request reads the database). Our own
 * revocations drop the copy here and, through `invalidations`, on every instance at once; a change made
 * behind the service's back (a role or a deletion by SQL) counts within `ttlMs`. Missing users are never
 * remembered, so a user created a moment later is found.
 */
export class CachedTokenStates implements TokenStates {
  readonly #copies: LRUCache<string, TokenState> | undefined;
  // Moves on with every invalidation: a read that began before one must not store what it read.
  #generation = 0;

  constructor(
    private readonly users: Pick<UserRepository, "findTokenState">,
    ttlMs: number,
    private readonly invalidations?: Invalidations,
  ) {
    this.#copies = ttlMs > 0 ? new LRUCache({ max: 100_000, ttl: ttlMs }) : undefined;
    invalidations?.onMessage((userId) => this.#drop(userId));
  }

  async get(userId: string): Promise<TokenState | undefined> {
    const copy = this.#copies?.get(userId);
    if (copy) return copy;
    const generation = this.#generation;
    const state = await this.users.findTokenState(userId);
    if (state && this.#copies && generation === this.#generation) this.#copies.set(userId, state);
    return state;
  }

  async forget(userId: string): Promise<void> {
    this.#drop(userId);
    await this.invalidations?.publish(userId);
  }

  #drop(userId: string): void {
    this.#generation++;
    this.#copies?.delete(userId);
  }
}
