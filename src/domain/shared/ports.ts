/**
 * Shared-state ports. With REDIS_URL they are backed by Redis and shared by every instance; without it,
 * by in-process adapters (single-instance mode).
 */
export interface Cache {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlSeconds: number): Promise<void>;
  delete(...keys: string[]): Promise<void>;
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

/** Fixed-window counters (throttling). */
export interface Counters {
  increment(key: string, windowSeconds: number): Promise<WindowCount>;
  get(key: string): Promise<WindowCount>;
  reset(key: string): Promise<void>;
}
