import type { Clock } from "../domain/shared/clock";

/** The machine's own time and timers. */
export const systemClock: Clock = { now: () => new Date(), sleep: (ms) => Bun.sleep(ms) };
