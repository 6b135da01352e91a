import { defineMachine, type Transition } from "../shared/state-machine";

/**
 * The popular-products cache of one window (days, limit), as the spec draws it: IDLE (nothing cached) →
 * AGGREGATING → CACHE_UPDATED → EXPIRED (its TTL ran out; the old value is still served while one instance
 * aggregates again) → AGGREGATING … Each instance follows the shared entry it reads, so it also sees the
 * moves another instance made (an entry it did not aggregate appears, or the cache lost it).
 */
export const POPULAR_CACHE_STATES = ["IDLE", "AGGREGATING", "CACHE_UPDATED", "EXPIRED"] as const;
export type PopularCacheState = (typeof POPULAR_CACHE_STATES)[number];

interface PopularCacheTransition extends Transition<PopularCacheState> {
  why: string;
}

export const POPULAR_CACHE_TRANSITIONS: readonly PopularCacheTransition[] = [
  { from: "IDLE", to: "AGGREGATING", why: "a read found nothing cached and took the aggregation lock" },
  { from: "EXPIRED", to: "AGGREGATING", why: "a read found the entry past its TTL and took the lock" },
  { from: "CACHE_UPDATED", to: "AGGREGATING", why: "the worker refreshes the entry ahead of its expiry" },
  { from: "AGGREGATING", to: "CACHE_UPDATED", why: "the aggregation was stored" },
  { from: "AGGREGATING", to: "IDLE", why: "the aggregation failed and nothing was cached" },
  { from: "AGGREGATING", to: "EXPIRED", why: "the aggregation failed; the expired value is still served" },
  { from: "CACHE_UPDATED", to: "EXPIRED", why: "the TTL ran out" },
  { from: "IDLE", to: "CACHE_UPDATED", why: "another instance aggregated" },
  { from: "EXPIRED", to: "CACHE_UPDATED", why: "another instance aggregated again" },
  { from: "CACHE_UPDATED", to: "IDLE", why: "the cache lost the entry (evicted, or Redis restarted)" },
  { from: "EXPIRED", to: "IDLE", why: "the expired value aged out of the cache" },
];

export const POPULAR_CACHE_MACHINE = defineMachine({
  name: "popular cache",
  statuses: POPULAR_CACHE_STATES,
  transitions: POPULAR_CACHE_TRANSITIONS,
});
