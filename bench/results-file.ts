// Every run of `bun run bench` is recorded in bench/RESULTS.md (BENCH_RESULTS_FILE elsewhere, "-" not at all):
// a dated heading with the commit and the machine, then everything the run printed, as printed. The newest run
// goes first, under the file's preamble; runs written by hand (a ceiling, what was tried) stay where they are.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { join } from "node:path";
import { format } from "node:util";
import { ROOT } from "./config";

const PREAMBLE = `# Benchmark runs

Written by \`bun run bench\` (newest first): each run's figures are ratios to baselines measured in the same run
(a Bun + Hono hello-world, \`pgbench\`, \`redis-benchmark\`), at the default configuration. What each figure means and
the targets: [docs/performance.md](../docs/performance.md).
`;

const printed: string[] = [];

/** From now on, what the run prints is also kept for the results file. */
export function keepPrintedOutput(): void {
  const log = console.log.bind(console);
  console.log = (...args: unknown[]) => {
    printed.push(format(...args));
    log(...args);
  };
}

/** Adds this run (heading, machine, printed output) at the top of the results file. */
export function recordRun(run: { startedAt: string; gitCommit?: string; modules: string[]; outcome: string }): void {
  const target = process.env.BENCH_RESULTS_FILE ?? join(ROOT, "bench/RESULTS.md");
  if (target === "-") return;
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  const machine = `${cpus().length} × ${cpu}, ${Math.round(totalmem() / 2 ** 30)} GiB, bun ${Bun.version}`;
  const section = [
    `## ${run.startedAt.slice(0, 16).replace("T", " ")} UTC · ${run.gitCommit ?? "uncommitted"} · ${run.modules.join(", ")}`,
    "",
    `${machine}. ${run.outcome}`,
    "",
    "```text",
    ...printed,
    "```",
    "",
  ].join("\n");
  const existing = existsSync(target) ? readFileSync(target, "utf8") : PREAMBLE;
  const firstRun = existing.search(/^## /m);
  const [head, rest] = firstRun < 0 ? [existing, ""] : [existing.slice(0, firstRun), existing.slice(firstRun)];
  writeFileSync(target, `${head.trimEnd()}\n\n${section}\n${rest}`.trimEnd() + "\n");
  console.log(`recorded in ${target}`);
}
