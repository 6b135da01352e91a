// The database ceiling the order and checkout figures are compared with: pgbench's built-in TPC-B-like script
// (five statements and a commit per transaction) on the same PostgreSQL, in a throwaway database of its own,
// with as many clients as the HTTP drivers have buyers, measured in the same run.
import { existsSync, readdirSync } from "node:fs";
import { CONNECTIONS, envInt, SECONDS, THREADS } from "./config";
import { runAdminStatement } from "./environment";
import { onCleanup, track } from "./processes";

export const PGBENCH_SCALE = envInt("BENCH_PGBENCH_SCALE", 10, 1, 1000);

export interface PgbenchResult {
  transactionsPerSecond: number;
  /** pgbench's own average latency (it prints no percentiles without per-transaction logs). */
  latencyAverageMs: number;
  clients: number;
  threads: number;
  scale: number;
  seconds: number;
}

/** pgbench on PATH, else the newest PostgreSQL's under /usr/lib/postgresql (Debian keeps it off PATH). */
function findPgbench(): string | undefined {
  const explicit = process.env.BENCH_PGBENCH;
  if (explicit) return explicit;
  const onPath = Bun.which("pgbench");
  if (onPath) return onPath;
  const root = "/usr/lib/postgresql";
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).sort((a, b) => Number(b) - Number(a));
  return versions.map((v) => `${root}/${v}/bin/pgbench`).find((file) => existsSync(file));
}

async function run(args: string[], env: Record<string, string>, timeoutMs: number): Promise<string> {
  const proc = track(
    Bun.spawn(args, { env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "pipe" }),
  );
  const killer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(killer);
  if (proc.exitCode !== 0) throw new Error(`${args.join(" ")} failed (exit ${proc.exitCode}):\n${stdout}${stderr}`);
  return stdout + stderr;
}

/**
 * `pgbench -i -s PGBENCH_SCALE` into `<database>_pgbench` (dropped at the end), then `-c CONNECTIONS -j THREADS
 * -T SECONDS`. Undefined (with a message) when pgbench is not installed.
 */
export async function runPgbench(adminUrl: string, runId: string): Promise<PgbenchResult | undefined> {
  const pgbench = findPgbench();
  if (!pgbench) {
    console.log("  pgbench not found (apt-get install -y postgresql-contrib, or BENCH_PGBENCH=<path>): no ratio");
    return undefined;
  }
  const url = new URL(adminUrl);
  const database = `kicks_bench_${runId}_pgbench`;
  const connection = [
    "-h",
    url.hostname,
    "-p",
    url.port || "5432",
    "-U",
    decodeURIComponent(url.username || "postgres"),
  ];
  const env: Record<string, string> = url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {};
  await runAdminStatement(adminUrl, `create database ${database}`);
  onCleanup(`drop database ${database}`, () =>
    runAdminStatement(adminUrl, `drop database if exists ${database} with (force)`),
  );
  process.stdout.write(`  pgbench -i -s ${PGBENCH_SCALE} ... `);
  const started = performance.now();
  await run([pgbench, ...connection, "-i", "-q", "-s", String(PGBENCH_SCALE), database], env, 300_000);
  console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
  process.stdout.write(`  pgbench TPC-B-like, ${CONNECTIONS} clients, ${THREADS} threads, ${SECONDS} s ... `);
  const out = await run(
    [pgbench, ...connection, "-c", String(CONNECTIONS), "-j", String(THREADS), "-T", String(SECONDS), database],
    env,
    (SECONDS + 60) * 1000,
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${out}`);
  console.log(`${Math.round(tps)} tps`);
  return {
    transactionsPerSecond: Math.round(tps),
    latencyAverageMs: latency,
    clients: CONNECTIONS,
    threads: THREADS,
    scale: PGBENCH_SCALE,
    seconds: SECONDS,
  };
}
