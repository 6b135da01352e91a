import type { CatalogueService } from "../catalogue/catalogue-service";
import { toProductView } from "../catalogue/product";
import type { CacheObserver, NearCache } from "../shared/cache-aside";
import type { Clock } from "../shared/clock";
import type { Cache, LockManager } from "../shared/ports";
import { POPULAR_CACHE_MACHINE, type PopularCacheState } from "./popular-cache-state";
import { type PopularWindow, PopularWindows } from "./popular-windows";
import type { DayRange, SalesRepository } from "./ports";
import { addDays, seoulDay } from "./seoul-days";

export const POPULAR_CACHE = "popular";
export const POPULAR_DAYS = { default: 3, max: 30 } as const;
export const POPULAR_LIMIT = { default: 5, max: 20 } as const;

/** Refresh ahead once an entry has lived this share of its TTL. */
const REFRESH_AHEAD_AT = 0.8;
/** An aggregation takes milliseconds; a holder that died frees the window after this. */
const LOCK_TTL_MS = 10_000;

export type AggregationTrigger = "read" | "refresh" | "unlocked";

export interface PopularObserver {
  moved(window: string, from: PopularCacheState, to: PopularCacheState): void;
  aggregated(trigger: AggregationTrigger, seconds: number): void;
}

export interface PopularRead {
  body: string;
  cache: "HIT" | "MISS";
}

type Window = PopularWindow;

interface Entry {
  aggregatedAt: number;
  body: string;
}

interface PopularProductsDeps {
  sales: SalesRepository;
  catalogue: Pick<CatalogueService, "productsByIds">;
  cache: Cache;
  locks: LockManager;
  /** In front of a shared (Redis) cache, so a hit costs no round trip; popular lags by its TTL anyway. */
  near?: NearCache;
  clock: Clock;
  /** POPULAR_CACHE_TTL_SECONDS. */
  ttlSeconds: number;
  reads: CacheObserver;
  observer: PopularObserver;
  /** How long a cold read waits for another instance's aggregation before doing its own. */
  waitMs?: number;
}

/**
 * Top products by units sold over the last days, from the daily sales rollup, cached for the TTL. A cold
 * or expired window is aggregated once however many ask at the same moment: one flight per process, one
 * holder of a lock across instances; the others get the expired value if there is one, or wait for the
 * holder's. The worker refreshes windows that are being read ahead of their expiry.
 */
export class PopularProducts {
  readonly #flights = new Map<string, Promise<Entry>>();
  readonly #states = new Map<string, PopularCacheState>();
  readonly #windows = new PopularWindows();

  constructor(private readonly deps: PopularProductsDeps) {}

  /**
   * The ranking's body if this process holds its unexpired near copy now, read as `read` reads such a hit (the
   * window marked as read, the hit counted); else undefined, and the caller reads through `read`. Synchronous:
   * for an answer made without a promise.
   */
  nearRead(days: number, limit: number): string | undefined {
    const now = this.deps.clock.now().getTime();
    const near = this.deps.near?.get(this.#windows.get(days, limit, now, true).key);
    return near && near.expiresAt > now ? this.#hit(near.body).body : undefined;
  }

  async read(days: number, limit: number): Promise<PopularRead> {
    const now = this.deps.clock.now().getTime();
    const window = this.#windows.get(days, limit, now, true);
    const key = window.key;
    const near = this.deps.near?.get(key);
    if (near && near.expiresAt > now) return this.#hit(near.body);

    const shared = await this.#get(key);
    if (shared === null) {
      // The cache (Redis) cannot answer, nor would its lock: one aggregation per process, no store.
      this.deps.reads.miss(POPULAR_CACHE);
      return {
        body: (await this.#singleFlight(key, () => this.#aggregate(key, window, "unlocked", false))).body,
        cache: "MISS",
      };
    }
    if (shared && this.#isFresh(shared, now)) {
      this.#follow(key, "CACHE_UPDATED");
      this.#keepNear(key, shared);
      return this.#hit(shared.body);
    }
    if (shared) this.#follow(key, "EXPIRED");
    // An expired value is served while someone else aggregates: only a cold window makes readers wait.
    if (shared && this.#flights.has(key)) return this.#hit(shared.body);
    const entry = await this.#singleFlight(key, () => this.#obtain(key, window, shared));
    if (entry === shared) return this.#hit(entry.body);
    this.deps.reads.miss(POPULAR_CACHE);
    return { body: entry.body, cache: "MISS" };
  }

  /** Aggregates the windows read lately whose entries are near their expiry (or gone). */
  async refreshAhead(): Promise<number> {
    const now = this.deps.clock.now().getTime();
    const windows = this.#windows.recent(
      { days: POPULAR_DAYS.default, limit: POPULAR_LIMIT.default },
      now,
      2 * this.deps.ttlSeconds * 1000,
    );
    let refreshed = 0;
    for (const window of windows) {
      const key = window.key;
      const entry = await this.#get(key);
      if (entry === null) return refreshed;
      if (!this.#dueForRefresh(entry, now)) continue;
      if (this.#flights.has(key)) continue;
      const lock = await this.deps.locks.tryAcquire(key, LOCK_TTL_MS).catch(() => undefined);
      if (!lock) continue;
      try {
        // Another instance may have refreshed it between our read and our lock.
        const current = await this.#get(key);
        if (current !== null && !this.#dueForRefresh(current, now)) continue;
        await this.#singleFlight(key, () => this.#aggregate(key, window, "refresh", entry !== undefined));
        refreshed++;
      } finally {
        await lock.release().catch(() => {});
      }
    }
    this.#forgetOldWindows();
    return refreshed;
  }

  /** What this instance last saw of each window, by state (for the metric). */
  states(): Record<PopularCacheState, number> {
    const counts: Record<PopularCacheState, number> = { IDLE: 0, AGGREGATING: 0, CACHE_UPDATED: 0, EXPIRED: 0 };
    for (const state of this.#states.values()) counts[state]++;
    return counts;
  }

  /**
   * Takes the lock and aggregates; or, while another holds it, serves the expired value if there is one,
   * else waits for the holder's result (and aggregates itself if none comes in time).
   */
  async #obtain(key: string, window: Window, expired: Entry | undefined): Promise<Entry> {
    const deadline = this.deps.clock.now().getTime() + (this.deps.waitMs ?? 3000);
    for (;;) {
      let lock: Awaited<ReturnType<LockManager["tryAcquire"]>>;
      try {
        lock = await this.deps.locks.tryAcquire(key, LOCK_TTL_MS);
      } catch (error) {
        // No lock service (Redis down): this process's single flight is all the protection left.
        this.deps.reads.unavailable(POPULAR_CACHE, error);
        return this.#aggregate(key, window, "unlocked", expired !== undefined);
      }
      if (lock) {
        try {
          // The holder before us may have just stored it.
          const stored = await this.#get(key);
          if (stored && this.#isFresh(stored, this.deps.clock.now().getTime())) return stored;
          return await this.#aggregate(key, window, "read", expired !== undefined);
        } finally {
          await lock.release().catch(() => {});
        }
      }
      if (expired) return expired;
      const stored = await this.#get(key);
      if (stored && this.#isFresh(stored, this.deps.clock.now().getTime())) return stored;
      if (this.deps.clock.now().getTime() >= deadline) return this.#aggregate(key, window, "unlocked", false);
      await this.deps.clock.sleep(20);
    }
  }

  async #aggregate(key: string, window: Window, trigger: AggregationTrigger, hasExpired: boolean): Promise<Entry> {
    this.#follow(key, "AGGREGATING");
    const started = performance.now();
    try {
      const aggregatedAt = this.deps.clock.now().getTime();
      const range = { from: addDays(window.to, 1 - window.days), to: window.to };
      const body = JSON.stringify(await this.#ranking(range, window.limit, aggregatedAt));
      const entry = { aggregatedAt, body };
      this.deps.reads.load(POPULAR_CACHE);
      this.deps.observer.aggregated(trigger, (performance.now() - started) / 1000);
      // Kept for two TTLs: the second serves the expired value while the next aggregation runs.
      await this.deps.cache
        .set(key, `${aggregatedAt}|${body}`, 2 * this.deps.ttlSeconds)
        .catch((error) => this.deps.reads.unavailable(POPULAR_CACHE, error));
      this.#keepNear(key, entry);
      this.#follow(key, "CACHE_UPDATED");
      return entry;
    } catch (error) {
      this.#follow(key, hasExpired ? "EXPIRED" : "IDLE");
      throw error;
    }
  }

  async #ranking(range: DayRange, limit: number, aggregatedAt: number) {
    const top = await this.deps.sales.topProducts(range, limit);
    const products = new Map(
      (await this.deps.catalogue.productsByIds(top.map((t) => t.productId))).map((p) => [p.id, p]),
    );
    const items = top.flatMap((sales, index) => {
      const product = products.get(sales.productId);
      return product
        ? [
            {
              rank: index + 1,
              product: toProductView(product),
              soldQuantity: sales.quantity,
              salesAmount: sales.salesAmount,
            },
          ]
        : [];
    });
    return { items, from: range.from, to: range.to, aggregatedAt: new Date(aggregatedAt).toISOString() };
  }

  #singleFlight(key: string, run: () => Promise<Entry>): Promise<Entry> {
    const running = this.#flights.get(key);
    if (running) {
      this.deps.reads.coalesced(POPULAR_CACHE);
      return running;
    }
    const flight = run().finally(() => this.#flights.delete(key));
    this.#flights.set(key, flight);
    return flight;
  }

  /** The entry, or nothing cached, or null when the cache cannot be reached. */
  async #get(key: string): Promise<Entry | undefined | null> {
    let text: string | undefined;
    try {
      text = await this.deps.cache.get(key);
    } catch (error) {
      this.deps.reads.unavailable(POPULAR_CACHE, error);
      return null;
    }
    const separator = text?.indexOf("|") ?? -1;
    if (!text || separator <= 0) {
      if (this.#states.has(key)) this.#follow(key, "IDLE");
      return undefined;
    }
    return { aggregatedAt: Number(text.slice(0, separator)), body: text.slice(separator + 1) };
  }

  /** Gone, or past REFRESH_AHEAD_AT of its TTL. */
  #dueForRefresh(entry: Entry | undefined, now: number): boolean {
    return !entry || now - entry.aggregatedAt >= REFRESH_AHEAD_AT * this.deps.ttlSeconds * 1000;
  }

  #isFresh(entry: Entry, now: number): boolean {
    return now - entry.aggregatedAt < this.deps.ttlSeconds * 1000;
  }

  #keepNear(key: string, entry: Entry) {
    this.deps.near?.set(key, { body: entry.body, expiresAt: entry.aggregatedAt + this.deps.ttlSeconds * 1000 });
  }

  #hit(body: string): PopularRead {
    this.deps.reads.hit(POPULAR_CACHE);
    return { body, cache: "HIT" };
  }

  #follow(key: string, to: PopularCacheState) {
    const from = this.#states.get(key);
    if (from === to) return;
    this.#states.set(key, to);
    // A window first seen here, or a move whose middle happened on another instance, is taken as it is.
    if (from === undefined ? to === "AGGREGATING" : POPULAR_CACHE_MACHINE.can(from, to)) {
      this.deps.observer.moved(key, from ?? "IDLE", to);
    }
  }

  /** Windows end on a Seoul day: those of days before yesterday are never read again. */
  #forgetOldWindows() {
    const yesterday = addDays(seoulDay(this.deps.clock.now()), -1);
    for (const key of this.#states.keys()) {
      if ((key.split(":")[1] ?? "") < yesterday) this.#states.delete(key);
    }
  }
}
