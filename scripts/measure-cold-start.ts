// `bun scripts/measure-cold-start.ts [binary | --source]` (default dist/kicks; build it first): how long the compiled
// binary (or, with --source, `bun src/index.ts` as `bun run start` runs it) takes from exec to its first 200 on
// /healthz: embedded in a fresh DATA_DIR (the first start: the database is made from its template) and in one already
// made, then, when DATABASE_URL is set (a server where it may create and drop throwaway databases), against
// PostgreSQL on a fresh database (all migrations applied at start-up) and on one already migrated; plus
// `kicks --version` (process start alone). Uses REDIS_URL when set. Prints medians of RUNS runs (10).
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import postgres from "postgres";

const ROOT = join(import.meta.dir, "..");
const fromSource = process.argv[2] === "--source";
const binary = resolve(process.argv[2] ?? "dist/kicks");
const command = fromSource ? [process.execPath, join(ROOT, "src/index.ts")] : [binary];
const runs = Number(process.env.RUNS ?? 10);
const adminUrl = process.env.DATABASE_URL;

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port as number;
  probe.stop(true);
  return port;
}

const admin = adminUrl ? postgres(adminUrl, { max: 1, onnotice: () => {} }) : undefined;
const databases: string[] = [];
async function createDatabase(): Promise<string> {
  const name = `kicks_cold_start_${Date.now().toString(36)}_${databases.length}`;
  await admin?.unsafe(`create database ${name}`);
  databases.push(name);
  const url = new URL(adminUrl as string);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Milliseconds from spawning the server to its first 200 on /healthz (PostgreSQL, or embedded in a DATA_DIR). */
async function timeToFirst200(database: { url: string } | { dataDir: string }): Promise<number> {
  const port = freePort();
  const started = performance.now();
  const child = Bun.spawn(command, {
    cwd: "/",
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      ...("url" in database ? { DATABASE_URL: database.url } : { DATA_DIR: database.dataDir }),
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

const scratch = mkdtempSync(join(tmpdir(), "kicks-cold-start-"));
try {
  const embeddedFresh: number[] = [];
  const embeddedMade: number[] = [];
  const fresh: number[] = [];
  const migrated: number[] = [];
  const version: number[] = [];
  for (let i = 0; i < runs; i++) {
    const dataDir = join(scratch, `data-${i}`);
    embeddedFresh.push(await timeToFirst200({ dataDir }));
    embeddedMade.push(await timeToFirst200({ dataDir }));
    rmSync(dataDir, { recursive: true, force: true });
    if (admin) {
      const url = await createDatabase();
      fresh.push(await timeToFirst200({ url }));
      migrated.push(await timeToFirst200({ url }));
    }
    if (!fromSource) version.push(await timeVersion());
  }
  console.log(
    fromSource
      ? `bun ${Bun.version} src/index.ts`
      : `binary: ${binary} (${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB)`,
  );
  console.log(`exec → first 200 on /healthz, embedded, fresh DATA_DIR:       ${summary(embeddedFresh)}`);
  console.log(`exec → first 200 on /healthz, embedded, DATA_DIR already made: ${summary(embeddedMade)}`);
  if (admin) {
    console.log(`exec → first 200 on /healthz, fresh database (migrates):      ${summary(fresh)}`);
    console.log(`exec → first 200 on /healthz, database already migrated:     ${summary(migrated)}`);
  }
  if (!fromSource) console.log(`kicks --version:                                              ${summary(version)}`);
} finally {
  rmSync(scratch, { recursive: true, force: true });
  for (const name of databases) await admin?.unsafe(`drop database if exists ${name} with (force)`);
  await admin?.end();
}
