import type { EventLoopLagMonitor } from "./event-loop-lag";

export type DependencyState = "up" | "down" | "not configured";

export interface Readiness {
  ready: boolean;
  checks: Record<string, DependencyState>;
}

type Probe = (() => Promise<unknown>) | undefined;

const PROBE_TIMEOUT_MS = 2000;

export interface EventLoopBound {
  monitor: EventLoopLagMonitor;
  /** Readiness fails while the worst recent lag exceeds this. */
  limitMs: number;
}

/**
 * Pings each dependency with a time limit (a hung connection counts as down), and reports this process
 * itself as down (`eventLoop`) while its event loop has recently lagged past the bound.
 */
export class HealthCheck {
  constructor(
    private readonly probes: Record<string, Probe>,
    private readonly eventLoop?: EventLoopBound,
  ) {}

  async readiness(): Promise<Readiness> {
    const entries = await Promise.all(
      Object.entries(this.probes).map(async ([name, probe]): Promise<[string, DependencyState]> => {
        if (!probe) return [name, "not configured"];
        try {
          await Promise.race([probe(), Bun.sleep(PROBE_TIMEOUT_MS).then(() => Promise.reject(new Error("timeout")))]);
          return [name, "up"];
        } catch {
          return [name, "down"];
        }
      }),
    );
    if (this.eventLoop) {
      const lagging = this.eventLoop.monitor.worstRecentLagMs() > this.eventLoop.limitMs;
      entries.push(["eventLoop", lagging ? "down" : "up"]);
    }
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, state]) => state !== "down"), checks };
  }
}
