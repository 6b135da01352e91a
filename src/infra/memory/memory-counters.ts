import type { Counters, WindowCount } from "../../domain/shared/ports";

/** Single-instance fixed-window counters with the same semantics as the Redis ones. */
export class MemoryCounters implements Counters {
  readonly #windows = new Map<string, { count: number; endsAt: number }>();

  async increment(key: string, windowSeconds: number): Promise<WindowCount> {
    const now = Date.now();
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
