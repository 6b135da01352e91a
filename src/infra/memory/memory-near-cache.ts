import { LRUCache } from "lru-cache";
import type { NearCache } from "../../domain/shared/cache-aside";

/**
 * In-process copies of shared list entries: bounded like MemoryCache (client-chosen keys), each kept no
 * longer than the shared entry it copies.
 */
export class MemoryNearCache implements NearCache {
  readonly #entries = new LRUCache<string, { body: string; expiresAt: number }>({
    max: 10_000,
    maxSize: 32 * 1024 * 1024,
    sizeCalculation: (entry, key) => entry.body.length + key.length,
  });

  get(key: string) {
    return this.#entries.get(key);
  }

  set(key: string, entry: { body: string; expiresAt: number }): void {
    const ttl = entry.expiresAt - Date.now();
    if (ttl > 0) this.#entries.set(key, entry, { ttl });
  }
}
