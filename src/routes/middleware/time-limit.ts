/** A request under the time limit: when it expires unless it ended first, and what to do then. */
interface Bounded {
  deadline: number;
  expire: () => void;
  previous: Bounded | undefined;
  next: Bounded | undefined;
  ended: boolean;
}

/**
 * The time limit of every request (REQUEST_TIMEOUT_MS), kept with one timer instead of one per request. Every
 * request gets the same limit, so requests in the order they began are in the order they expire: a list in
 * start order is also in deadline order, adding is an append and ending an unlink (both O(1)), and one timer set
 * for the oldest request's deadline is all that is needed. When it fires it expires what is due and is set
 * again for the oldest left (while requests keep ending in time, it fires about once per limit). A `setTimeout` + `clearTimeout` + `Promise.race` per request cost about as much as
 * the rest of the edge's bookkeeping together.
 */
export class TimeLimit {
  readonly #limitMs: number;
  #oldest: Bounded | undefined;
  #newest: Bounded | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(limitMs: number) {
    this.#limitMs = limitMs;
  }

  /**
   * Settles with true once `work` has settled (its failure is thrown), or with false at the deadline if it has
   * not; the work goes on either way (whoever awaits it decides what becomes of it).
   */
  within(work: Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const bounded = this.#add(() => resolve(false));
      work.then(
        () => {
          this.#end(bounded);
          resolve(true);
        },
        (error) => {
          this.#end(bounded);
          reject(error);
        },
      );
    });
  }

  /** Requests under the limit now (for tests). */
  get pending(): number {
    let count = 0;
    for (let at = this.#oldest; at; at = at.next) count++;
    return count;
  }

  #add(expire: () => void): Bounded {
    const bounded: Bounded = {
      deadline: performance.now() + this.#limitMs,
      expire,
      previous: this.#newest,
      next: undefined,
      ended: false,
    };
    if (this.#newest) this.#newest.next = bounded;
    else this.#oldest = bounded;
    this.#newest = bounded;
    if (this.#timer === undefined) this.#arm(bounded.deadline);
    return bounded;
  }

  #end(bounded: Bounded): void {
    if (bounded.ended) return;
    bounded.ended = true;
    const { previous, next } = bounded;
    if (previous) previous.next = next;
    else this.#oldest = next;
    if (next) next.previous = previous;
    else this.#newest = previous;
    bounded.previous = bounded.next = undefined;
    // The timer stays set for the deadline it was set for (clearing and setting it again per request is the cost
    // this class saves): when it fires with nothing due, it is set again for the oldest, or not at all.
  }

  #arm(deadline: number): void {
    // The requests keep the process alive, not the timer.
    this.#timer = setTimeout(() => this.#fire(), Math.max(0, Math.ceil(deadline - performance.now()))).unref();
  }

  #fire(): void {
    this.#timer = undefined;
    const now = performance.now();
    while (this.#oldest && this.#oldest.deadline <= now) {
      const due = this.#oldest;
      this.#end(due);
      due.expire();
    }
    if (this.#oldest) this.#arm(this.#oldest.deadline);
  }
}
