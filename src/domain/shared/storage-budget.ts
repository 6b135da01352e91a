import type { Counters } from "./ports";

/**
 * At most `bytesPerWindow` bytes admitted per window of `windowSeconds`, counted across every instance that
 * shares `counters`. With a window as long as the entries' TTL, what it admitted is gone a window later, so
 * at most about two windows' worth is ever stored: the bound on what clients choosing their own queries
 * (and so their own cache keys) can make us keep.
 */
export class StorageBudget {
  constructor(
    private readonly counters: Counters,
    private readonly key: string,
    private readonly bytesPerWindow: number,
    private readonly windowSeconds: number,
  ) {}

  async admit(bytes: number): Promise<boolean> {
    const { count } = await this.counters.increment(this.key, this.windowSeconds, bytes);
    return count <= this.bytesPerWindow;
  }
}
