// What a run tells: a markdown table for people and latest.json for tools.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Invariant } from "./checks";
import type { ChargeMetrics } from "./kicks-api";
import type { OrderBenchResult } from "./orders";
import { shapeName } from "./pgbench";
import type { ScenarioResult } from "./scenarios";

const ratio = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
const ms = (us: number) => (us >= 100_000 ? `${(us / 1000).toFixed(0)}ms` : `${(us / 1000).toFixed(2)}ms`);

/** A markdown table, the first column left-aligned, the others right-aligned. */
function printMarkdownTable(header: string[], rows: string[][]): void {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
}

function printTable(results: ScenarioResult[]): void {
  const rows = results.map((r) => [
    r.name,
    String(r.requestsPerSecond),
    ms(r.report.latencyUs.p50),
    ms(r.report.latencyUs.p99),
    ratio(r.ratioVsBaseline),
    String(r.report.errors.status),
    String(r.report.errors.connect + r.report.errors.read + r.report.errors.write + r.report.errors.timeout),
    r.peakRssMb === undefined ? "-" : `${r.peakRssMb} MB`,
  ]);
  const header = ["scenario", "req/s", "p50", "p99", "vs baseline", "non-2xx", "socket errors", "peak RSS"];
  printMarkdownTable(header, rows);
}

/** The table, then one line per invariant and the count of lost optimistic races when the server reports it. */
export function printSummary(results: ScenarioResult[], invariants: Invariant[], metrics?: ChargeMetrics): void {
  console.log();
  printTable(results);
  console.log();
  for (const inv of invariants) console.log(`${inv.ok ? "ok  " : "FAIL"} ${inv.name}: ${inv.detail}`);
  if (metrics?.conflicts !== undefined) {
    console.log(`lost optimistic races during charges (balance_update_conflicts_total): ${metrics.conflicts}`);
  }
}

/** The outbox module's lines: its requirements (ok/FAIL) and its speed targets (met/missed). */
export function printOutboxSummary(check: { invariants: Invariant[]; targets: Invariant[] }): void {
  console.log();
  for (const inv of check.invariants) console.log(`${inv.ok ? "ok  " : "FAIL"} ${inv.name}: ${inv.detail}`);
  for (const target of check.targets) console.log(`${target.ok ? "met " : "MISS"} ${target.name}: ${target.detail}`);
}

/** Writes `output` as `latest.json` in `dir` and says where. */
export async function writeResults(dir: string, output: object): Promise<void> {
  const resultsFile = join(dir, "latest.json");
  await writeFile(resultsFile, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nresults: ${resultsFile}`);
}

const msOf = (value: number) => `${value.toFixed(value >= 100 ? 0 : 1)} ms`;

/** Issue 18's targets, each checked on the scenarios it names (met/MISS lines). */
function orderTargets(scenarios: OrderBenchResult["scenarios"]): Invariant[] {
  const targets: Invariant[] = [];
  const at = (s: OrderBenchResult["scenarios"][number]) => `${s.name}, ${s.buyers} buyers`;
  const ratioTarget = (flow: "orders" | "checkout", hot: boolean, floor: number) => {
    for (const s of scenarios.filter((x) => x.kind.flow === flow && x.kind.hot === hot)) {
      if (s.ratioVsPgbench === undefined || !s.ceiling) continue;
      targets.push({
        name: `${at(s)} ≥ ${floor}x pgbench (${shapeName(s.ceiling)})`,
        ok: s.ratioVsPgbench >= floor,
        detail: `${ratio(s.ratioVsPgbench)} (${Math.round(s.report.okPerSecond)}/s vs ${s.ceiling.transactionsPerSecond} tps)`,
      });
    }
  };
  ratioTarget("orders", true, 0.7);
  ratioTarget("orders", false, 1.0);
  ratioTarget("checkout", true, 0.5);
  ratioTarget("checkout", false, 0.5);
  for (const s of scenarios.filter((x) => x.kind.flow === "checkout")) {
    const cpu = s.report.serverCpuUsPerIteration;
    if (cpu !== undefined) {
      targets.push({
        name: `${at(s)}: server CPU ≤ 2 ms per checkout`,
        ok: cpu <= 2_000,
        detail: `${Math.round(cpu)} µs`,
      });
    }
    if (s.buyers === Math.max(...scenarios.map((x) => x.buyers))) {
      const { p99, mean } = s.report.latencyMs;
      targets.push({
        name: `${at(s)}: p99 < 300 ms and ≤ 3x the mean`,
        ok: p99 < 300 && p99 <= 3 * mean,
        detail: `p99 ${msOf(p99)}, mean ${msOf(mean)}`,
      });
    }
  }
  return targets;
}

/** The orders and checkout module's lines: pgbench, the table with ratios, the checks and issue 18's targets. */
export function printOrderSummary(result: OrderBenchResult): void {
  console.log();
  for (const run of result.pgbench) {
    console.log(
      `pgbench TPC-B-like (${shapeName(run)}, ${run.threads} threads): ${run.transactionsPerSecond} tps, latency average ${run.latencyAverageMs} ms`,
    );
  }
  const header = [
    "scenario",
    "buyers",
    "per s",
    "p50",
    "p99",
    "vs pgbench",
    "driver CPU",
    "server CPU / op",
    "main thread / op",
    "PostgreSQL CPU / op",
  ];
  const rows = result.scenarios.map(({ name, buyers, report, ratioVsPgbench, ceiling }) => [
    name,
    String(buyers),
    String(Math.round(report.okPerSecond)),
    msOf(report.latencyMs.p50),
    msOf(report.latencyMs.p99),
    ratioVsPgbench === undefined || !ceiling ? "-" : `${ratio(ratioVsPgbench)} (${shapeName(ceiling)})`,
    `${Math.round(report.driverCpu.coreShare * 100)}% of a core`,
    report.serverCpuUsPerIteration === undefined ? "-" : `${Math.round(report.serverCpuUsPerIteration)} µs`,
    report.serverMainThreadCpuUsPerIteration === undefined
      ? "-"
      : `${Math.round(report.serverMainThreadCpuUsPerIteration)} µs`,
    report.postgresCpuUsPerIteration === undefined ? "-" : `${Math.round(report.postgresCpuUsPerIteration)} µs`,
  ]);
  printMarkdownTable(header, rows);
  console.log();
  for (const inv of result.invariants) console.log(`${inv.ok ? "ok  " : "FAIL"} ${inv.name}: ${inv.detail}`);
  for (const target of orderTargets(result.scenarios)) {
    console.log(`${target.ok ? "met " : "MISS"} ${target.name}: ${target.detail}`);
  }
}
