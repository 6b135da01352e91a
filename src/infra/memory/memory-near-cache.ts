import { LRUCache } from "lru-cache";
import type { NearCache } from "../../domain/shared/cache-aside";
import { stringBytes } from "./string-bytes";

/**
 * The bytes of list pages a process keeps a near copy of: about a thousand pages of 20 products, far more than
 * the lists a drop's buyers refresh; a list beyond them is one Redis read away. It was 32 MiB, which a crawl of
 * one-off queries (the bench's uncached list) filled entirely, on every instance.
 */
export const LIST_NEAR_CACHE_MAX_BYTES = 8 * 1024 * 1024;

/**
 * In-process copies of shared list entries: bounded like MemoryCache (client-chosen keys), each kept no
 * longer than the shared entry it copies.
 */
export class MemoryNearCache implements NearCache {
  readonly #entries = new LRUCache<string, { body: string; expiresAt: number }>({
    max: 10_000,
    maxSize: LIST_NEAR_CACHE_MAX_BYTES,
    sizeCalculation: (entry, key) => stringBytes(entry.body) + stringBytes(key),
  });

  get(key: string) {
    return this.#entries.get(key);
  }

  set(key: string, entry: { body: string; expiresAt: number }): void {
    const ttl = entry.expiresAt - Date.now();
    if (ttl > 0) this.#entries.set(key, entry, { ttl });
  }
}
