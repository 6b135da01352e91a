/**
 * How late the event loop runs. A timer asks to fire every `intervalMs`; how much later than that it fires is
 * time the process spent unable to answer anyone (a long synchronous computation, a huge regex, GC). The worst
 * lag seen over the last `windowMs` is what readiness reports: a process that keeps stalling should be taken
 * out of the load balancer's rotation rather than queue more requests behind the stall.
 */
export class EventLoopLagMonitor {
  readonly #samples: { atMs: number; lagMs: number }[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #expectedAtMs = 0;

  constructor(
    private readonly intervalMs = 100,
    private readonly windowMs = 3_000,
  ) {}

  start(): this {
    if (this.#timer) return this;
    this.#expectedAtMs = performance.now() + this.intervalMs;
    this.#timer = setInterval(() => this.#sample(), this.intervalMs);
    // A monitor never keeps a process alive on its own.
    this.#timer.unref?.();
    return this;
  }

  /** Drops what was measured so far: start-up work (migrations, an embedded database's first load) is no stall. */
  forget(): void {
    this.#samples.length = 0;
    this.#expectedAtMs = performance.now() + this.intervalMs;
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** The worst lag (ms) over the window, counting the stall still under way if the timer is overdue. */
  worstRecentLagMs(): number {
    const now = performance.now();
    this.#forget(now);
    const overdue = this.#timer ? Math.max(0, now - this.#expectedAtMs) : 0;
    return this.#samples.reduce((worst, sample) => Math.max(worst, sample.lagMs), overdue);
  }

  #sample(): void {
    const now = performance.now();
    const lagMs = Math.max(0, now - this.#expectedAtMs);
    this.#expectedAtMs = now + this.intervalMs;
    if (lagMs > 0) this.#samples.push({ atMs: now, lagMs });
    this.#forget(now);
  }

  #forget(now: number): void {
    while (this.#samples.length > 0 && (this.#samples[0] as { atMs: number }).atMs < now - this.windowMs) {
      this.#samples.shift();
    }
  }
}
