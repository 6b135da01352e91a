import { type Day, seoulDay, seoulDayStart } from "./seoul-days";

const DAY_MS = 24 * 3600 * 1000;

/** One ranking that is asked for: the last `days` Seoul days, top `limit`. */
export interface PopularWindow {
  days: number;
  limit: number;
  /** Its last Seoul day (today when it was read) and its cache key, which names that day. */
  to: Day;
  key: string;
  readAt: number;
}

/**
 * The popular windows this instance is asked for, kept per Seoul day so that a cache hit computes no date
 * (a new day gives every window a new key), and remembered for refreshing ahead while they are read.
 */
export class PopularWindows {
  readonly #windows = new Map<number, PopularWindow>();
  #today = { day: "", startsAt: 0, endsAt: 0 };

  /** The window ending today; `touch` records a read. */
  get(days: number, limit: number, now: number, touch: boolean): PopularWindow {
    if (now < this.#today.startsAt || now >= this.#today.endsAt) {
      const day = seoulDay(new Date(now));
      const startsAt = seoulDayStart(day).getTime();
      this.#today = { day, startsAt, endsAt: startsAt + DAY_MS };
    }
    const id = days * 100 + limit;
    let window = this.#windows.get(id);
    if (window?.to !== this.#today.day) {
      const to = this.#today.day;
      const readAt = touch ? now : (window?.readAt ?? now);
      window = { days, limit, to, key: `popular:${to}:${days}:${limit}`, readAt };
      this.#windows.set(id, window);
    } else if (touch) {
      window.readAt = now;
    }
    return window;
  }

  /** `always`, and every window read within `maxAgeMs` (as of today); the others are forgotten. */
  recent(always: { days: number; limit: number }, now: number, maxAgeMs: number): PopularWindow[] {
    const windows = [this.get(always.days, always.limit, now, false)];
    for (const [id, read] of this.#windows) {
      if (now - read.readAt > maxAgeMs) this.#windows.delete(id);
      else if (!windows.includes(read)) windows.push(this.get(read.days, read.limit, now, false));
    }
    return windows;
  }
}
