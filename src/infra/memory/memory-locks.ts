import type { Lock, LockManager } from "../../domain/shared/ports";

/** Single-instance locks with the same expiry semantics as the Redis ones. */
export class MemoryLocks implements LockManager {
  readonly #held = new Map<string, { token: symbol; expiresAt: number }>();

  async tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined> {
    const current = this.#held.get(name);
    if (current && current.expiresAt > Date.now()) return undefined;
    const token = Symbol(name);
    this.#held.set(name, { token, expiresAt: Date.now() + ttlMs });
    return {
      release: async () => {
        if (this.#held.get(name)?.token === token) this.#held.delete(name);
      },
    };
  }
}
