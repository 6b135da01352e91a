import type { Clock } from "./clock";
import type { Announcement, Cache, VersionedCache } from "./ports";

/** What cache-aside reads report, per named cache (metrics and warnings live in the wiring). */
export interface CacheObserver {
  hit(cache: string): void;
  miss(cache: string): void;
  /** A miss that waited for a load already running for the same key instead of loading again. */
  coalesced(cache: string): void;
  load(cache: string): void;
  /** The cache could not answer or store (Redis down): the read went to the source. */
  unavailable(cache: string, error: unknown): void;
  /** A hit answered by this process's near copy, without asking the shared cache. */
  nearHit?(cache: string): void;
}

interface Loaded {
  version: number;
  body: string;
}

/** A copy kept in this process in front of a shared cache, for entries that may lag (lists, not details). */
export interface NearCache {
  get(key: string): { body: string; expiresAt: number } | undefined;
  set(key: string, entry: { body: string; expiresAt: number }): void;
}

/**
 * In-process copies of versioned entries (product and model pages) in front of a shared cache, kept exact by
 * invalidations every instance pushes to every other: a hit asks nobody. A copy is kept only if nothing
 * invalidated its key between the moment its read began (`ticket`) and now, and while the invalidations cannot
 * reach this process the copies are dropped and none is kept or served: reads go to the shared cache.
 */
export interface VersionedNearCache {
  get(key: string): string | undefined;
  /** Taken before reading the shared cache or the source; undefined while copies may not be kept. */
  ticket(key: string): object | undefined;
  keep(key: string, version: number, body: string, ticket: object | undefined, ttlSeconds: number): void;
  /** After a committed change made here, at once: this process's copy goes, reads in flight keep nothing. */
  forget(key: string, version: number): void;
  /** Then tells every other process (after the shared entry became a tombstone). */
  announce(key: string, version: number): Promise<void>;
  /** The same message, for the shared cache to send with the tombstone; undefined when it cannot be sent now. */
  announcement?(key: string, version: number): Announcement | undefined;
}

type Lookup<T> = () => Promise<T>;

/**
 * Cache-aside reads of serialised bodies.
 * - Lookups of one key made in the same turn of the event loop share one cache round trip, sent after the
 *   last of them arrived, so none of them can see an entry older than its own arrival (a hot product
 *   during a drop costs one Redis GET per turn, not one per request).
 * - Concurrent misses of one key share one load (single flight).
 * - A cache that cannot answer is skipped, never an error.
 * - Versioned reads never go back in time: a load older than the tombstone an invalidation left is not
 *   served, and `putIfNewer` refuses to store it.
 * - With a versioned near cache, a versioned read this process has seen since the last change is answered from
 *   memory, with no round trip; the change, made on any instance, removes the copy everywhere first.
 */
export class CacheAside {
  readonly #flights = new Map<string, Promise<Loaded>>();
  readonly #lookups = new Map<string, Promise<unknown>>();

  constructor(
    private readonly cache: Cache & VersionedCache,
    private readonly observer: CacheObserver,
    /** Expiry of list entries is read from it (the shared entry carries its own expiry time). */
    private readonly clock: Clock,
    /** Only in front of a shared (Redis) cache: in-process it would hold every entry twice. */
    private readonly near?: NearCache,
    /** Near copies of versioned entries, only in front of a shared cache (as `near`). */
    private readonly versionedNear?: VersionedNearCache,
  ) {}

  /**
   * The near copy of a versioned entry if this process holds one now, counted as readVersioned counts it; else
   * undefined, and the caller reads through readVersioned. Synchronous: for an answer made without a promise.
   */
  peekVersioned(name: string, key: string): string | undefined {
    const copy = this.versionedNear?.get(key);
    if (copy !== undefined) {
      this.observer.hit(name);
      this.observer.nearHit?.(name);
    }
    return copy;
  }

  /** A body whose entry is invalidated by version when the thing it shows changes (a product). */
  async readVersioned(name: string, key: string, ttlSeconds: number, load: () => Promise<Loaded>): Promise<string> {
    const near = this.versionedNear;
    const copy = near?.get(key);
    if (copy !== undefined) {
      this.observer.hit(name);
      this.observer.nearHit?.(name);
      return copy;
    }
    const ticket = near?.ticket(key);
    const entry = await this.#lookup(name, key, () => this.cache.getVersioned(key));
    if (entry && "body" in entry) {
      this.observer.hit(name);
      near?.keep(key, entry.version, entry.body, ticket, ttlSeconds);
      return entry.body;
    }
    this.observer.miss(name);
    const store = (loaded: Loaded) =>
      this.#attempt(name, () => this.cache.putIfNewer(key, loaded.version, loaded.body, ttlSeconds));
    // A load already running may have begun before a change this reader's ticket postdates: its starter
    // keeps the copy (its ticket predates the load), a reader that joins it does not.
    const joined = this.#flights.has(key);
    const shared = await this.#singleFlight(name, key, load, store);
    // A load that began before the write which left this tombstone shows the old version: load anew.
    if (entry && shared.version < entry.floor) {
      const fresh = await this.#load(name, load, store);
      near?.keep(key, fresh.version, fresh.body, ticket, ttlSeconds);
      return fresh.body;
    }
    if (!joined) near?.keep(key, shared.version, shared.body, ticket, ttlSeconds);
    return shared.body;
  }

  /**
   * The near copy of a lagging entry (a list page) if this process holds one that has not expired, counted as
   * `read` counts it; else undefined, and the caller reads through `read`. Synchronous, as peekVersioned.
   */
  peek(name: string, key: string): string | undefined {
    const near = this.near?.get(key);
    if (near === undefined || near.expiresAt <= this.clock.now().getTime()) return undefined;
    this.observer.hit(name);
    return near.body;
  }

  /**
   * A body that may lag behind its source by up to its TTL (a list page). The shared entry carries its
   * expiry, so a near copy expires with it and the lag stays within one TTL. `admit`, when given, decides
   * whether a loaded body is stored at all (a storage budget); one it refuses is served, not kept.
   */
  async read(
    name: string,
    key: string,
    ttlSeconds: number,
    load: () => Promise<string>,
    admit?: (body: string) => Promise<boolean>,
  ): Promise<string> {
    const now = this.clock.now().getTime();
    const near = this.near?.get(key);
    if (near && near.expiresAt > now) {
      this.observer.hit(name);
      return near.body;
    }
    const cached = await this.#lookup(name, key, () => this.cache.get(key));
    const shared = cached === undefined ? undefined : parseExpiring(cached);
    if (shared && shared.expiresAt > now) {
      this.near?.set(key, shared);
      this.observer.hit(name);
      return shared.body;
    }
    this.observer.miss(name);
    const loaded = await this.#singleFlight(
      name,
      key,
      async () => ({ version: 0, body: await load() }),
      async (result) => {
        if (admit && !(await this.#attempt(name, () => admit(result.body)))) return;
        const expiresAt = this.clock.now().getTime() + ttlSeconds * 1000;
        this.near?.set(key, { body: result.body, expiresAt });
        await this.#attempt(name, () => this.cache.set(key, `${expiresAt}|${result.body}`, ttlSeconds));
      },
    );
    return loaded.body;
  }

  /**
   * After a committed change to what `key` shows, at `version`: the entry becomes a tombstone, and a load
   * in flight here no longer serves readers who arrive from now on.
   */
  async invalidate(name: string, key: string, version: number, ttlSeconds: number): Promise<void> {
    this.#flights.delete(key);
    this.versionedNear?.forget(key, version);
    const near = this.versionedNear;
    // After the tombstone: another instance that drops its copy on this message then reads the tombstone. The
    // shared cache sends both in one round trip when it can (Redis: one script), else they go one after the other.
    const announcement = near?.announcement?.(key, version);
    const announced = await this.#attempt(name, () => this.cache.invalidate(key, version, ttlSeconds, announcement));
    if (near && announced !== true) await this.#attempt(name, () => near.announce(key, version));
  }

  /** One cache round trip per key per event-loop turn, sent once every lookup of the turn has arrived. */
  #lookup<T>(name: string, key: string, lookup: Lookup<T>): Promise<T | undefined> {
    const pending = this.#lookups.get(key) as Promise<T | undefined> | undefined;
    if (pending) return pending;
    const batch = new Promise<T | undefined>((resolve) => {
      setImmediate(() => {
        this.#lookups.delete(key);
        resolve(this.#attempt(name, lookup));
      });
    });
    this.#lookups.set(key, batch);
    return batch;
  }

  #singleFlight(
    name: string,
    key: string,
    load: () => Promise<Loaded>,
    store: (loaded: Loaded) => Promise<unknown>,
  ): Promise<Loaded> {
    const running = this.#flights.get(key);
    if (running) {
      this.observer.coalesced(name);
      return running;
    }
    const flight = this.#load(name, load, store).finally(() => {
      if (this.#flights.get(key) === flight) this.#flights.delete(key);
    });
    this.#flights.set(key, flight);
    return flight;
  }

  async #load(name: string, load: () => Promise<Loaded>, store: (loaded: Loaded) => Promise<unknown>) {
    this.observer.load(name);
    const loaded = await load();
    await store(loaded);
    return loaded;
  }

  async #attempt<T>(name: string, operation: () => Promise<T>): Promise<T | undefined> {
    try {
      return await operation();
    } catch (error) {
      this.observer.unavailable(name, error);
      return undefined;
    }
  }
}

/** `<expiresAtMs>|<body>`; anything else (an entry written by an older version) counts as a miss. */
function parseExpiring(entry: string): { body: string; expiresAt: number } | undefined {
  const separator = entry.indexOf("|");
  const expiresAt = Number(entry.slice(0, separator));
  return separator > 0 && Number.isFinite(expiresAt) ? { expiresAt, body: entry.slice(separator + 1) } : undefined;
}
