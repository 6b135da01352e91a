import { LRUCache } from "lru-cache";
import type { Cache, VersionedCache } from "../../domain/shared/ports";
import { parseVersioned, versionedEntry, versionOf } from "../versioned-entry";

/** Bounds of the in-process cache: entries and bytes (list keys are chosen by clients, so both matter). */
const MAX_ENTRIES = 50_000;
const MAX_BYTES = 64 * 1024 * 1024;

/**
 * Single-instance cache: a bounded LRU with a TTL per entry, so neither expired keys nobody asks for
 * again nor an endless variety of client-chosen list queries can grow it without limit.
 */
export class MemoryCache implements Cache, VersionedCache {
  readonly #entries = new LRUCache<string, string>({
    max: MAX_ENTRIES,
    maxSize: MAX_BYTES,
    sizeCalculation: (value, key) => value.length + key.length,
  });

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string): Promise<string | undefined> {
    return this.#entries.get(key);
  }

  async set(key: string, value: string, ttlSeconds: number): Promise<void> {
    this.#entries.set(key, value, { ttl: ttlSeconds * 1000 });
  }

  async delete(...keys: string[]): Promise<void> {
    for (const key of keys) this.#entries.delete(key);
  }

  async getVersioned(key: string) {
    const entry = this.#entries.get(key);
    return entry === undefined ? undefined : parseVersioned(entry);
  }

  async putIfNewer(key: string, version: number, body: string, ttlSeconds: number): Promise<boolean> {
    if (this.#heldVersion(key) > version) return false;
    this.#entries.set(key, versionedEntry(version, body), { ttl: ttlSeconds * 1000 });
    return true;
  }

  /** One process: there is no other instance to announce to (false: the caller's near cache does its own). */
  async invalidate(key: string, version: number, ttlSeconds: number): Promise<boolean> {
    if (this.#heldVersion(key) <= version)
      this.#entries.set(key, versionedEntry(version, ""), { ttl: ttlSeconds * 1000 });
    return false;
  }

  #heldVersion(key: string): number {
    const held = this.#entries.get(key);
    return held === undefined ? Number.NEGATIVE_INFINITY : versionOf(held);
  }
}
