// The money invariants of the charge run. Throughput means nothing if concurrent charges lose or invent money, so
// the bench fails (exit 1) when any of these does not hold. Everything is observed over HTTP, as a client would.
import { CONNECTIONS } from "./config";
import type { ChargeMetrics } from "./kicks-api";
import type { WrkReport } from "./wrk";

/** What the charge scenario saw: wrk's counts, and the balance, ledger and server metrics read around it. */
export interface ChargeRun {
  report: WrkReport;
  /** Settled balance before the measured run (after its warm-up). */
  before: number;
  /** Settled balance after the measured run. */
  after: number;
  /** Ledger rows of the buyer, warm-up included: each charge is 1, so it must equal the balance. */
  ledgerTotal: number;
  metrics: ChargeMetrics;
}

export interface Invariant {
  name: string;
  ok: boolean;
  detail: string;
}

export function checkChargeRun(charge: ChargeRun): Invariant[] {
  const { report } = charge;
  const ok2xx = Object.entries(report.statuses)
    .filter(([code]) => code.startsWith("2"))
    .reduce((sum, [, n]) => sum + n, 0);
  const other = Object.entries(report.statuses).filter(([code]) => !code.startsWith("2"));
  const landed = charge.after - charge.before;
  const invariants: Invariant[] = [
    {
      name: "no non-2xx charge responses",
      ok: report.errors.status === 0 && other.length === 0,
      detail: `wrk non-2xx/3xx: ${report.errors.status}; statuses: ${JSON.stringify(report.statuses)}`,
    },
    {
      name: "balance equals ledger rows (amount 1 each)",
      ok: charge.after === charge.ledgerTotal,
      detail: `balance ${charge.after}, ledger rows ${charge.ledgerTotal}`,
    },
    {
      // Requests in flight when wrk stops may land without wrk seeing the answer: at most one per connection.
      name: "charges landed match 2xx seen by wrk",
      ok: landed >= ok2xx && landed <= ok2xx + CONNECTIONS,
      detail: `landed ${landed} during the run, wrk saw ${ok2xx} x 2xx (allowed ${ok2xx}..${ok2xx + CONNECTIONS})`,
    },
  ];
  if (charge.metrics.charges2xx !== undefined) {
    invariants.push({
      name: "server-counted 2xx charges equal ledger rows",
      ok: charge.metrics.charges2xx === charge.ledgerTotal,
      detail: `http_requests_total 2xx charges ${charge.metrics.charges2xx}, ledger rows ${charge.ledgerTotal}`,
    });
  }
  return invariants;
}
