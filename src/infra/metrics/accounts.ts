import { Counter, type Registry } from "prom-client";

/** Balances on /metrics: optimistic updates that lost a race (a hot balance shows here first). */
export function balanceMetrics(registry: Registry) {
  const conflicts = new Counter({
    name: "balance_update_conflicts_total",
    help: "Optimistic balance updates that lost a race and were retried",
    registers: [registry],
  });
  return { conflict: () => conflicts.inc() };
}
