// The database ceilings the order and checkout figures are compared with: pgbench's built-in TPC-B-like script
// (five statements and a commit per transaction) on the same PostgreSQL, in throwaway databases of its own,
// with as many clients as the HTTP drivers have buyers, measured in the same run. Two shapes: scale 1 (one
// branch row that every transaction updates: the ceiling of one hot product) and scale 10 (the spread one).
import { existsSync, readdirSync } from "node:fs";
import { envInt, SECONDS, THREADS } from "./config";
import { runAdminStatement } from "./environment";
import { onCleanup, track } from "./processes";

/** pgbench -i -s of the spread ceiling (the hot one is always scale 1: one branch row every transaction updates). */
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

/** One pgbench shape: its scale and its clients. */
export interface PgbenchShape {
  scale: number;
  clients: number;
}

export const shapeName = (shape: PgbenchShape) => `scale ${shape.scale}, -c ${shape.clients}`;
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
 * For each scale among `shapes`, `pgbench -i -s <scale>` into `<database>_pgbench_s<scale>` (dropped at the end),
 * then each shape as `-c <clients> -j THREADS -T SECONDS`, one after the other. Empty (with a message) when
 * pgbench is not installed.
 */
export async function runPgbench(adminUrl: string, runId: string, shapes: PgbenchShape[]): Promise<PgbenchResult[]> {
  const pgbench = findPgbench();
  if (!pgbench) {
    console.log("  pgbench not found (apt-get install -y postgresql-contrib, or BENCH_PGBENCH=<path>): no ratio");
    return [];
  }
  const url = new URL(adminUrl);
  const connection = [
    "-h",
    url.hostname,
    "-p",
    url.port || "5432",
    "-U",
    decodeURIComponent(url.username || "postgres"),
  ];
  const env: Record<string, string> = url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {};
  const results: PgbenchResult[] = [];
  for (const scale of [...new Set(shapes.map((shape) => shape.scale))]) {
    const database = `kicks_bench_${runId}_pgbench_s${scale}`;
    await runAdminStatement(adminUrl, `create database ${database}`);
    onCleanup(`drop database ${database}`, () =>
      runAdminStatement(adminUrl, `drop database if exists ${database} with (force)`),
    );
    process.stdout.write(`  pgbench -i -s ${scale} ... `);
    const started = performance.now();
    await run([pgbench, ...connection, "-i", "-q", "-s", String(scale), database], env, 300_000);
    console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
    for (const { clients } of shapes.filter((shape) => shape.scale === scale)) {
      const threads = Math.min(THREADS, clients);
      process.stdout.write(
        `  pgbench TPC-B-like, scale ${scale}, ${clients} clients, ${threads} threads, ${SECONDS} s ... `,
      );
      const out = await run(
        [pgbench, ...connection, "-c", String(clients), "-j", String(threads), "-T", String(SECONDS), database],
        env,
        (SECONDS + 60) * 1000,
      );
      const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
      const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
      if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${out}`);
      console.log(`${Math.round(tps)} tps`);
      results.push({
        transactionsPerSecond: Math.round(tps),
        latencyAverageMs: latency,
        clients,
        threads,
        scale,
        seconds: SECONDS,
      });
    }
  }
  return results;
}
