// What is measured, in order. The baseline goes first: every later figure is a ratio against it, which is what
// stays comparable across machines.

import type { ChargeRun } from "./checks";
import { SECONDS, WARMUP_SECONDS } from "./config";
import { type Buyer, readChargeMetrics, readLedgerTotal, settledBalance } from "./kicks-api";
import { type WrkReport, type WrkScript, wrk } from "./wrk";

interface Scenario {
  name: string;
  target: "baseline" | "kicks";
  method: string;
  /** `{userId}` and `{productId}` stand for the run's buyer and a seeded product; results keep the placeholders. */
  path: string;
  /** "charge" also runs the money checks around the measured run. */
  script: WrkScript;
  /** Sends the buyer's token; the charge script sets its own header. */
  authenticated: boolean;
}

export const SCENARIOS: readonly Scenario[] = [
  { name: "baseline GET /", target: "baseline", method: "GET", path: "/", script: "report", authenticated: false },
  {
    name: "kicks GET /healthz",
    target: "kicks",
    method: "GET",
    path: "/healthz",
    script: "report",
    authenticated: false,
  },
  {
    name: "kicks GET balance",
    target: "kicks",
    method: "GET",
    path: "/api/v1/balances/{userId}",
    script: "report",
    authenticated: true,
  },
  {
    name: "kicks GET product (cached)",
    target: "kicks",
    method: "GET",
    path: "/api/v1/products/{productId}",
    script: "report",
    authenticated: false,
  },
  {
    name: "kicks GET products, filtered (cached)",
    target: "kicks",
    method: "GET",
    path: "/api/v1/products?category=running&sort=price_asc&size=20",
    script: "report",
    authenticated: false,
  },
  {
    name: "kicks GET products, a new query each time (uncached)",
    target: "kicks",
    method: "GET",
    path: "/api/v1/products?…random minPrice, category, page",
    script: "uncached-list",
    authenticated: false,
  },
  {
    name: "kicks POST charge",
    target: "kicks",
    method: "POST",
    path: "/api/v1/balances/charge",
    script: "charge",
    authenticated: false,
  },
];

export interface ScenarioResult {
  name: string;
  target: Scenario["target"];
  method: string;
  path: string;
  requestsPerSecond: number;
  ratioVsBaseline: number;
  /** Peak resident memory of the server under this load (MB), sampled from /proc. */
  peakRssMb?: number;
  report: WrkReport;
}

export interface ScenarioRun {
  urls: Record<Scenario["target"], string>;
  pids: Record<Scenario["target"], number>;
  buyer: Buyer;
  productId: string;
  scripts: Record<WrkScript, string>;
  /** Targets to run (default both): ["baseline"] when only the other modules were asked for. */
  only?: Scenario["target"][];
}

/** Samples a process's resident memory every 100 ms until stopped; returns the peak in MB. */
function sampleRss(pid: number): () => number | undefined {
  let peakKb = 0;
  const read = async () => {
    const status = await Bun.file(`/proc/${pid}/status`)
      .text()
      .catch(() => "");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peakKb = Math.max(peakKb, kb);
  };
  const timer = setInterval(read, 100);
  void read();
  return () => {
    clearInterval(timer);
    return peakKb > 0 ? Math.round(peakKb / 1024) : undefined;
  };
}

/** Runs every scenario (warm-up, then measured), printing each rate as it comes. */
export async function runScenarios({ urls, pids, buyer, productId, scripts, only }: ScenarioRun) {
  const results: ScenarioResult[] = [];
  let charge: ChargeRun | undefined;
  for (const scenario of SCENARIOS.filter((s) => !only || only.includes(s.target))) {
    const path = scenario.script === "uncached-list" ? "/" : scenario.path;
    const url = urls[scenario.target] + path.replace("{userId}", buyer.userId).replace("{productId}", productId);
    const script = scripts[scenario.script];
    const headers: Record<string, string> = scenario.authenticated ? { Authorization: `Bearer ${buyer.token}` } : {};
    if (WARMUP_SECONDS > 0) await wrk(url, WARMUP_SECONDS, script, headers);
    const isCharge = scenario.script === "charge";
    const before = isCharge ? (await settledBalance(urls.kicks, buyer)).balance : 0;
    process.stdout.write(`  ${scenario.name} ... `);
    const stopSampling = sampleRss(pids[scenario.target]);
    const report = await wrk(url, SECONDS, script, headers);
    const peakRssMb = stopSampling();
    const rps = report.requests / (report.durationUs / 1e6);
    const baselineRps = results[0]?.requestsPerSecond ?? rps;
    results.push({
      name: scenario.name,
      target: scenario.target,
      method: scenario.method,
      path: scenario.path,
      requestsPerSecond: Math.round(rps),
      ratioVsBaseline: rps / baselineRps,
      peakRssMb,
      report,
    });
    console.log(`${Math.round(rps)} req/s`);
    if (isCharge) {
      const after = await settledBalance(urls.kicks, buyer);
      charge = {
        report,
        before,
        after: after.balance,
        ledgerTotal: await readLedgerTotal(urls.kicks, buyer),
        metrics: await readChargeMetrics(urls.kicks),
      };
    }
  }
  return { results, charge };
}
