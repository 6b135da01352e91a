import type { Counters, WindowCount } from "../../domain/shared/ports";

/** Past this many keys, windows that have ended are swept out (at most once a second). */
const SWEEP_THRESHOLD = 10_000;
const SWEEP_INTERVAL_MS = 1000;
/** Hard cap: beyond it the oldest windows are forgotten (throttling fails open rather than memory running out). */
const MAX_KEYS = 100_000;

interface Window {
  count: number;
  endsAt: number;
}

const toWindowCount = ({ count, endsAt }: Window, now: number): WindowCount => ({
  count,
  resetsInSeconds: Math.ceil((endsAt - now) / 1000),
});

/** Single-instance fixed-window counters with the same semantics as the Redis ones. */
export class MemoryCounters implements Counters {
  readonly #windows = new Map<string, Window>();
  #nextSweepAt = 0;

  get size(): number {
    return this.#windows.size;
  }

  async increment(key: string, windowSeconds: number, by = 1): Promise<WindowCount> {
    const now = Date.now();
    if (this.#windows.size >= SWEEP_THRESHOLD && now >= this.#nextSweepAt) {
      this.#nextSweepAt = now + SWEEP_INTERVAL_MS;
      for (const [other, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(other);
    }
    // Map keeps insertion order, so the first key is the oldest window.
    while (this.#windows.size >= MAX_KEYS) this.#windows.delete(this.#windows.keys().next().value as string);
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowSeconds * 1000 };
      this.#windows.set(key, window);
    }
    window.count += by;
    return toWindowCount(window, now);
  }

  async get(key: string): Promise<WindowCount> {
    const now = Date.now();
    const window = this.#windows.get(key);
    if (!window || window.endsAt <= now) return { count: 0, resetsInSeconds: 0 };
    return toWindowCount(window, now);
  }

  async decrement(key: string): Promise<void> {
    const window = this.#windows.get(key);
    if (window && window.count > 0) window.count -= 1;
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key);
  }
}
