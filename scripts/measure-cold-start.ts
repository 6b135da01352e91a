// `bun scripts/measure-cold-start.ts [binary]` (default dist/kicks; build it first): how long the compiled binary
// takes from exec to its first 200 on /healthz against PostgreSQL, on a fresh database (all migrations applied at
// start-up) and on one already migrated, plus `kicks --version` (process start alone). Needs DATABASE_URL (a server
// where it may create and drop throwaway databases); uses REDIS_URL when set. Prints medians of RUNS runs (10).
import { statSync } from "node:fs";
import { resolve } from "node:path";
import postgres from "postgres";

const binary = resolve(process.argv[2] ?? "dist/kicks");
const runs = Number(process.env.RUNS ?? 10);
const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error("DATABASE_URL is required (a PostgreSQL server where throwaway databases may be created)");
  process.exit(2);
}

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
const databases: string[] = [];
async function createDatabase(): Promise<string> {
  const name = `kicks_cold_start_${Date.now().toString(36)}_${databases.length}`;
  await admin.unsafe(`create database ${name}`);
  databases.push(name);
  const url = new URL(adminUrl as string);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Milliseconds from spawning the server to its first 200 on /healthz. */
async function timeToFirst200(databaseUrl: string): Promise<number> {
  const port = freePort();
  const started = performance.now();
  const child = Bun.spawn([binary], {
    cwd: "/",
    env: {
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      JWT_SECRET: "cold-start-measurement-secret-of-32-chars",
      LOG_LEVEL: "silent",
      ...(process.env.REDIS_URL ? { REDIS_URL: process.env.REDIS_URL, REDIS_KEY_PREFIX: "kicks-cold-start:" } : {}),
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  try {
    while (child.exitCode === null) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200) return performance.now() - started;
      } catch {}
      await Bun.sleep(2);
    }
    throw new Error(`the server exited with ${child.exitCode} before answering`);
  } finally {
    child.kill("SIGTERM");
    await child.exited;
  }
}

async function timeVersion(): Promise<number> {
  const started = performance.now();
  const child = Bun.spawn([binary, "--version"], { stdout: "ignore" });
  await child.exited;
  return performance.now() - started;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};
const summary = (values: number[]) =>
  `median ${median(values).toFixed(0)} ms (min ${Math.min(...values).toFixed(0)}, max ${Math.max(...values).toFixed(0)}, ${values.length} runs)`;

try {
  const fresh: number[] = [];
  const migrated: number[] = [];
  const version: number[] = [];
  for (let i = 0; i < runs; i++) {
    const url = await createDatabase();
    fresh.push(await timeToFirst200(url));
    migrated.push(await timeToFirst200(url));
    version.push(await timeVersion());
  }
  console.log(`binary: ${binary} (${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB)`);
  console.log(`exec → first 200 on /healthz, fresh database (migrates):  ${summary(fresh)}`);
  console.log(`exec → first 200 on /healthz, database already migrated: ${summary(migrated)}`);
  console.log(`kicks --version:                                          ${summary(version)}`);
} finally {
  for (const name of databases) await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
}
