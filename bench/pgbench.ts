// The database ceilings the order and checkout figures are compared with: pgbench's built-in TPC-B-like script
// (five statements and a commit per transaction) on the same PostgreSQL, in throwaway databases of its own,
// with as many clients as the HTTP drivers have buyers, measured in the same run. Two shapes: scale 1 (one
// branch row that every transaction updates: the ceiling of one hot product) and scale 10 (the spread one).
// And the ceiling of a single indexed read, `pgbench -S` (select-only: one primary-key select of pgbench_accounts
// per transaction), that GET /balances/{userId} is compared with (issue 20). A scale's database is initialised
// once per run, whichever module asks first, and kept until the end of the run.
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
  /** "tpcb" (the default script) or "select-only" (-S). */
  script?: "tpcb" | "select-only";
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

interface Pgbench {
  binary: string;
  connection: string[];
  env: Record<string, string>;
}

function locate(adminUrl: string): Pgbench | undefined {
  const binary = findPgbench();
  if (!binary) {
    console.log("  pgbench not found (apt-get install -y postgresql-contrib, or BENCH_PGBENCH=<path>): no ratio");
    return undefined;
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
  return { binary, connection, env };
}

/** The databases this run has initialised, by scale: one `pgbench -i` per scale per run. */
const initialised = new Map<number, Promise<string>>();

function databaseOfScale(pgbench: Pgbench, adminUrl: string, runId: string, scale: number): Promise<string> {
  let database = initialised.get(scale);
  if (!database) {
    database = (async () => {
      const name = `kicks_bench_${runId}_pgbench_s${scale}`;
      await runAdminStatement(adminUrl, `create database ${name}`);
      onCleanup(`drop database ${name}`, () =>
        runAdminStatement(adminUrl, `drop database if exists ${name} with (force)`),
      );
      process.stdout.write(`  pgbench -i -s ${scale} ... `);
      const started = performance.now();
      await run([pgbench.binary, ...pgbench.connection, "-i", "-q", "-s", String(scale), name], pgbench.env, 300_000);
      console.log(`${((performance.now() - started) / 1000).toFixed(1)} s`);
      return name;
    })();
    initialised.set(scale, database);
  }
  return database;
}

async function measure(
  pgbench: Pgbench,
  database: string,
  scale: number,
  clients: number,
  script: "tpcb" | "select-only",
): Promise<PgbenchResult> {
  const threads = Math.min(THREADS, clients);
  const what = script === "tpcb" ? "TPC-B-like" : "-S (select-only)";
  process.stdout.write(`  pgbench ${what}, scale ${scale}, ${clients} clients, ${threads} threads, ${SECONDS} s ... `);
  const out = await run(
    [
      pgbench.binary,
      ...pgbench.connection,
      ...(script === "select-only" ? ["-S"] : []),
      "-c",
      String(clients),
      "-j",
      String(threads),
      "-T",
      String(SECONDS),
      database,
    ],
    pgbench.env,
    (SECONDS + 60) * 1000,
  );
  const tps = Number(/tps = ([\d.]+) \(without initial connection time\)/.exec(out)?.[1]);
  const latency = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1]);
  if (!Number.isFinite(tps)) throw new Error(`pgbench printed no tps:\n${out}`);
  console.log(`${Math.round(tps)} tps`);
  return {
    transactionsPerSecond: Math.round(tps),
    latencyAverageMs: latency,
    clients,
    threads,
    scale,
    seconds: SECONDS,
    script,
  };
}

/**
 * `pgbench -S` (select-only) at PGBENCH_SCALE with `clients` clients for SECONDS: the ceiling of one indexed read.
 * Undefined (with a message) when pgbench is not installed.
 */
export async function runPgbenchSelectOnly(
  adminUrl: string,
  runId: string,
  clients: number,
): Promise<PgbenchResult | undefined> {
  const pgbench = locate(adminUrl);
  if (!pgbench) return undefined;
  const database = await databaseOfScale(pgbench, adminUrl, runId, PGBENCH_SCALE);
  return measure(pgbench, database, PGBENCH_SCALE, clients, "select-only");
}

/**
 * For each scale among `shapes`, `pgbench -i -s <scale>` into `<database>_pgbench_s<scale>` (dropped at the end;
 * once per run: a database the http module's select-only run made is reused), then each shape as
 * `-c <clients> -j THREADS -T SECONDS`, one after the other. Empty (with a message) when pgbench is not installed.
 */
export async function runPgbench(adminUrl: string, runId: string, shapes: PgbenchShape[]): Promise<PgbenchResult[]> {
  const pgbench = locate(adminUrl);
  if (!pgbench) return [];
  const results: PgbenchResult[] = [];
  for (const scale of [...new Set(shapes.map((shape) => shape.scale))]) {
    const database = await databaseOfScale(pgbench, adminUrl, runId, scale);
    for (const { clients } of shapes.filter((shape) => shape.scale === scale)) {
      results.push(await measure(pgbench, database, scale, clients, "tpcb"));
    }
  }
  return results;
}
