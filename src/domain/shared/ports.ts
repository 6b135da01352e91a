/**
 * Shared-state ports. With REDIS_URL they are backed by Redis and shared by every instance; without it,
 * by in-process adapters (single-instance mode).
 */
/**
 * Text entries with a time to live: callers store serialised response bodies, so a hit is sent as it is.
 * Adapters throw `CacheUnavailable` when the cache cannot answer; callers fall back to the source.
 */
export interface Cache {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string, ttlSeconds: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
}

/**
 * Entries stamped with the version of what they show (e.g. a product's `version`), for cache-aside reads
 * that must never go back in time: `invalidate` leaves a tombstone carrying the new version, and `putIfNewer`
 * refuses anything older than what the entry holds, so a reader that loaded a row just before a write
 * committed cannot put that stale copy back after the writer invalidated it.
 */
export interface VersionedCache {
  /** The body and its version, or the version floor a fresh load must reach (after an invalidation), or nothing. */
  getVersioned(key: string): Promise<{ body: string; version: number } | { floor: number } | undefined>;
  /** Stores `body` unless the entry already holds a newer version (or a tombstone of one). */
  putIfNewer(key: string, version: number, body: string, ttlSeconds: number): Promise<boolean>;
  /**
   * Replaces the entry with a tombstone of `version`, unless it already holds a newer one. With an
   * `announcement` this cache can send (see Announcement), sends it right after, in the same round trip, and
   * answers true; otherwise the caller announces on its own.
   */
  invalidate(key: string, version: number, ttlSeconds: number, announcement?: Announcement): Promise<boolean>;
}

/**
 * A near cache's message telling the other instances that an entry changed, for the shared cache to send with
 * the tombstone (one round trip instead of two). `via` names the connection it must go out on: a cache on
 * another connection (another server) does not send it.
 */
export interface Announcement {
  channel: string;
  message: string;
  via: unknown;
}

export class CacheUnavailable extends Error {
  override name = "CacheUnavailable";
}

export interface Lock {
  /** Releases only if this holder still owns the lock (it may have expired and passed to another). */
  release(): Promise<void>;
}

export interface LockManager {
  /** Undefined when someone else holds `name`; the lock expires by itself after `ttlMs`. */
  tryAcquire(name: string, ttlMs: number): Promise<Lock | undefined>;
}

export interface WindowCount {
  count: number;
  /** Seconds until the window (started by its first hit) ends and the count starts again from zero. */
  resetsInSeconds: number;
}

/** Fixed-window counters (throttling, storage budgets). */
export interface Counters {
  /** Adds `by` (default 1) to the window's count. */
  increment(key: string, windowSeconds: number, by?: number): Promise<WindowCount>;
  /** Takes one hit back (an attempt that turned out not to count), within the same window; never below zero. */
  decrement(key: string): Promise<void>;
  get(key: string): Promise<WindowCount>;
  reset(key: string): Promise<void>;
}
