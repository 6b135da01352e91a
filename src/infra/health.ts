export type DependencyState = "up" | "down" | "not configured";

export interface Readiness {
  ready: boolean;
  checks: Record<string, DependencyState>;
}

type Probe = (() => Promise<unknown>) | undefined;

const PROBE_TIMEOUT_MS = 2000;

/** Pings each dependency with a time limit; a hung connection counts as down. */
export class HealthCheck {
  constructor(private readonly probes: Record<string, Probe>) {}

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
    const checks = Object.fromEntries(entries);
    return { ready: entries.every(([, state]) => state !== "down"), checks };
  }
}
