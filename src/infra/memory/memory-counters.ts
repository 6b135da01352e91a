import type { Counters, WindowCount } from "../../domain/shared/ports";

/** Past this many keys, windows that have ended are swept out on the next increment. */
const SWEEP_THRESHOLD = 10_000;

/** Single-instance fixed-window counters with the same semantics as the Redis ones. */
export class MemoryCounters implements Counters {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();

  get size(): number {
    return this.#windows.size;
  }

  async increment(key: string, windowSeconds: number): Promise<WindowCount> {
    const now = Date.now();
    if (this.#windows.size >= SWEEP_THRESHOLD) {
      for (const [other, window] of this.#windows) if (window.endsAt <= now) this.#windows.delete(other);
    }
    let window = this.#windows.get(key);
    if (!window || window.endsAt <= now) {
      window = { count: 0, endsAt: now + windowSeconds * 1000 };
      this.#windows.set(key, window);
    }
    window.count += 1;
    return { count: window.count, resetsInSeconds: Math.ceil((window.endsAt - now) / 1000) };
  }

  async get(key: string): Promise<WindowCount> {
    const now = Date.now();
    const window = this.#windows.get(key);
    if (!window || window.endsAt <= now) return { count: 0, resetsInSeconds: 0 };
    return { count: window.count, resetsInSeconds: Math.ceil((window.endsAt - now) / 1000) };
  }

  async reset(key: string): Promise<void> {
    this.#windows.delete(key);
  }
}
