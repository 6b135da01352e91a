// `bun run bench`: HTTP throughput of the real server, as ratios against a Bun + Hono hello-world measured
// in the same run (bench/baseline-server.ts). Speed targets live here, never as timed assertions in tests.
//
// Environment:
//   BENCH_SECONDS (10)        seconds per measured scenario
//   BENCH_CONNECTIONS (64)    wrk connections
//   BENCH_THREADS (2)         wrk threads
//   BENCH_WARMUP_SECONDS (2)  unmeasured wrk run before each scenario (0 skips it)
//   BENCH_RESULTS_DIR         where latest.json and the servers' logs go (default: a new temp dir)
//   DATABASE_URL / REDIS_URL  used when set: a throwaway database `kicks_bench_<random>` (dropped at the end)
//                             and a unique Redis key prefix (deleted at the end); else embedded PGlite in a
//                             temporary DATA_DIR and in-process cache/locks.
//   JWT_SECRET                passed on when 32+ characters, else a random one is made for the run.
//
// Loads go to 127.0.0.1 only and every wrk run is bounded by -d; the whole run has a hard deadline.
import { closeSync, openSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Subprocess } from "bun";
import Redis from "ioredis";
import postgres from "postgres";

const ROOT = resolve(import.meta.dir, "..");

function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    process.exit(1);
  }
  return value;
}

const SECONDS = envInt("BENCH_SECONDS", 10, 1, 600);
const CONNECTIONS = envInt("BENCH_CONNECTIONS", 64, 1, 10_000);
const THREADS = Math.min(envInt("BENCH_THREADS", 2, 1, 64), CONNECTIONS);
const WARMUP_SECONDS = envInt("BENCH_WARMUP_SECONDS", Math.min(2, SECONDS), 0, 60);
const WRK_TIMEOUT_SECONDS = 5;
const SCENARIO_COUNT = 4;
const STARTUP_TIMEOUT_MS = 60_000;
const TERM_GRACE_MS = 12_000; // Kicks drains for up to 8 s on SIGTERM.
/** Hard ceiling for the whole run: setup, every scenario with its warm-up and slack, teardown. */
const DEADLINE_MS =
  2 * STARTUP_TIMEOUT_MS + SCENARIO_COUNT * (WARMUP_SECONDS + SECONDS + 20) * 1000 + 2 * TERM_GRACE_MS + 30_000;

// ---------------------------------------------------------------- processes and cleanup

const children = new Set<Subprocess>();
const cleanups: { label: string; run: () => Promise<unknown> }[] = [];
let cleaning: Promise<void> | undefined;

async function stopProcess(proc: Subprocess, graceMs = TERM_GRACE_MS): Promise<number | null> {
  if (proc.exitCode === null && proc.signalCode === null) {
    proc.kill("SIGTERM");
    const exited = await Promise.race([proc.exited.then(() => true), Bun.sleep(graceMs).then(() => false)]);
    if (!exited) {
      console.error(`pid ${proc.pid} ignored SIGTERM for ${graceMs} ms; sending SIGKILL`);
      proc.kill("SIGKILL");
    }
  }
  await proc.exited;
  children.delete(proc);
  return proc.exitCode;
}

/** Stops every child (SIGTERM, then SIGKILL), then runs the registered cleanups newest first. Idempotent. */
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    await Promise.all([...children].map((proc) => stopProcess(proc).catch(() => {})));
    for (const { label, run } of cleanups.reverse()) {
      try {
        await Promise.race([
          run(),
          Bun.sleep(15_000).then(() => {
            throw new Error("timed out");
          }),
        ]);
      } catch (error) {
        console.error(`cleanup "${label}" failed: ${(error as Error).message}`);
      }
    }
  })();
  return cleaning;
}

async function abort(code: number, message: string): Promise<never> {
  console.error(message);
  await cleanup();
  process.exit(code);
}

process.on("SIGINT", () => void abort(130, "interrupted; cleaning up"));
process.on("SIGTERM", () => void abort(143, "terminated; cleaning up"));
const deadline = setTimeout(
  () => void abort(2, `benchmark exceeded its ${Math.round(DEADLINE_MS / 1000)} s deadline; cleaning up`),
  DEADLINE_MS,
);

function freePort(): number {
  const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
  const port = probe.port;
  probe.stop(true);
  if (!port) throw new Error("could not find a free port");
  return port;
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

interface Server {
  name: string;
  url: string;
  proc: Subprocess;
  log: string;
}

function startServer(name: string, script: string, env: Record<string, string | undefined>, log: string): Server {
  const port = freePort();
  const fd = openSync(log, "a");
  const proc = Bun.spawn(["bun", script], {
    cwd: ROOT,
    env: { ...env, PORT: String(port) },
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  children.add(proc);
  return { name, url: `http://127.0.0.1:${port}`, proc, log };
}

async function waitHealthy(server: Server, path: string): Promise<void> {
  const until = Date.now() + STARTUP_TIMEOUT_MS;
  while (Date.now() < until) {
    if (server.proc.exitCode !== null || server.proc.signalCode !== null) {
      throw new Error(
        `${server.name} exited (${server.proc.exitCode ?? server.proc.signalCode}) before answering ${path}:\n${tail(server.log)}`,
      );
    }
    try {
      const res = await fetch(server.url + path, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {}
    await Bun.sleep(200);
  }
  throw new Error(`${server.name} did not answer ${path} within ${STARTUP_TIMEOUT_MS / 1000} s:\n${tail(server.log)}`);
}

async function api<T = any>(base: string, method: string, path: string, body?: unknown, token?: string) {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const res = await fetch(base + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: res.status, body: json as T };
}

// ---------------------------------------------------------------- wrk

/** Prints one machine-readable line after wrk's own report; the charge script also counts statuses per thread. */
const REPORT_LUA = `
local threads = {}
function setup(thread) table.insert(threads, thread) end
function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for code, n in pairs(s) do merged[code] = (merged[code] or 0) + n end end
  end
  local parts = {}
  for code, n in pairs(merged) do parts[#parts + 1] = string.format('"%d":%d', code, n) end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"durationUs":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latencyUs":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,"p50":%d,"p90":%d,"p99":%d},"statuses":{%s}}\\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    table.concat(parts, ",")))
end
`;

const chargeLua = (userId: string, token: string) => `
wrk.method = "POST"
wrk.body = '${JSON.stringify({ userId, amount: 1 })}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer ${token}"
statuses = {}
function response(status, headers, body) statuses[status] = (statuses[status] or 0) + 1 end
${REPORT_LUA}`;

interface WrkReport {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { min: number; mean: number; stdev: number; max: number; p50: number; p90: number; p99: number };
  /** Only filled when the script counts responses (the charge scenario). */
  statuses: Record<string, number>;
}

async function wrk(
  url: string,
  seconds: number,
  script: string,
  headers: Record<string, string> = {},
): Promise<WrkReport> {
  const args = [
    "wrk",
    `-t${THREADS}`,
    `-c${CONNECTIONS}`,
    `-d${seconds}s`,
    `--timeout`,
    `${WRK_TIMEOUT_SECONDS}s`,
    "-s",
    script,
  ];
  for (const [name, value] of Object.entries(headers)) args.push("-H", `${name}: ${value}`);
  args.push(url);
  const proc = Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  children.add(proc);
  const killer = setTimeout(() => proc.kill("SIGKILL"), (seconds + 20) * 1000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(killer);
  children.delete(proc);
  const line = stdout.split("\n").find((l) => l.startsWith("BENCH_JSON "));
  if (proc.exitCode !== 0 || !line) {
    throw new Error(`wrk failed (exit ${proc.exitCode ?? proc.signalCode}) on ${url}:\n${stdout}${stderr}`);
  }
  return JSON.parse(line.slice("BENCH_JSON ".length)) as WrkReport;
}

// ---------------------------------------------------------------- main

interface ScenarioResult {
  name: string;
  target: "baseline" | "kicks";
  method: string;
  path: string;
  requestsPerSecond: number;
  ratioVsBaseline: number;
  report: WrkReport;
}

const randomId = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const withDatabase = (url: string, name: string) => {
  const parsed = new URL(url);
  parsed.pathname = `/${name}`;
  return parsed.toString();
};
const ratio = (r: number) => `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
const ms = (us: number) => (us >= 100_000 ? `${(us / 1000).toFixed(0)}ms` : `${(us / 1000).toFixed(2)}ms`);

async function main() {
  if (!Bun.which("wrk")) {
    console.error("wrk is not on PATH. Install it with:\n  apt-get install -y wrk");
    process.exit(1);
  }
  const wrkVersion = (Bun.spawnSync(["wrk", "--version"]).stdout.toString().split("\n")[0] ?? "").trim();

  const startedAt = new Date().toISOString();
  const runId = randomId();
  const resultsDir = process.env.BENCH_RESULTS_DIR
    ? resolve(process.env.BENCH_RESULTS_DIR)
    : await mkdtemp(join(tmpdir(), "kicks-bench-results-"));
  await mkdir(resultsDir, { recursive: true });
  const workDir = await mkdtemp(join(tmpdir(), "kicks-bench-"));
  cleanups.push({ label: "temporary files", run: () => rm(workDir, { recursive: true, force: true }) });

  // Where Kicks keeps its state for this run.
  const adminUrl = process.env.DATABASE_URL || undefined;
  const redisUrl = process.env.REDIS_URL || undefined;
  const redisKeyPrefix = `kicks_bench_${runId}:`;
  let databaseUrl: string | undefined;
  if (adminUrl) {
    const name = `kicks_bench_${runId}`;
    const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
    try {
      await admin.unsafe(`create database ${name}`);
    } finally {
      await admin.end({ timeout: 5 });
    }
    databaseUrl = withDatabase(adminUrl, name);
    cleanups.push({
      label: `drop database ${name}`,
      run: async () => {
        const sql = postgres(adminUrl, { max: 1, onnotice: () => {} });
        try {
          await sql.unsafe(`drop database if exists ${name} with (force)`);
        } finally {
          await sql.end({ timeout: 5 });
        }
      },
    });
  }
  if (redisUrl) {
    cleanups.push({
      label: `delete Redis keys ${redisKeyPrefix}*`,
      run: async () => {
        const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await redis.connect();
          let cursor = "0";
          do {
            const [next, keys] = await redis.scan(cursor, "MATCH", `${redisKeyPrefix}*`, "COUNT", 1000);
            if (keys.length > 0) await redis.del(...keys);
            cursor = next;
          } while (cursor !== "0");
        } finally {
          redis.disconnect();
        }
      },
    });
  }
  const jwtSecret =
    process.env.JWT_SECRET && process.env.JWT_SECRET.length >= 32
      ? process.env.JWT_SECRET
      : Buffer.from(crypto.getRandomValues(new Uint8Array(48))).toString("base64url");

  const mode = {
    database: databaseUrl ? "postgresql (throwaway database)" : "embedded PGlite (temporary DATA_DIR)",
    redis: redisUrl ? `redis (prefix ${redisKeyPrefix})` : "none (in-process cache and locks)",
  };
  console.log(
    `kicks bench: ${SECONDS} s per scenario (+${WARMUP_SECONDS} s warm-up), ${CONNECTIONS} connections, ${THREADS} threads; ${wrkVersion}; bun ${Bun.version}; ${availableParallelism()} cpus`,
  );
  console.log(`database: ${mode.database}; redis: ${mode.redis}`);
  console.log(`results and server logs: ${resultsDir}`);

  // Servers. ADMIN_* are left out: a half-set pair would stop Kicks, and the bench needs no admin.
  const { ADMIN_EMAIL: _email, ADMIN_PASSWORD: _password, ...inherited } = process.env;
  const baseline = startServer(
    "baseline",
    join(ROOT, "bench/baseline-server.ts"),
    inherited,
    join(resultsDir, "baseline.log"),
  );
  const kicks = startServer(
    "kicks",
    join(ROOT, "src/index.ts"),
    {
      ...inherited,
      NODE_ENV: "production",
      LOG_LEVEL: "warn",
      DATABASE_URL: databaseUrl,
      REDIS_URL: redisUrl,
      REDIS_KEY_PREFIX: redisKeyPrefix,
      JWT_SECRET: jwtSecret,
      DATA_DIR: join(workDir, "data"),
    },
    join(resultsDir, "kicks.log"),
  );
  await Promise.all([waitHealthy(baseline, "/"), waitHealthy(kicks, "/healthz")]);

  // A buyer to read and charge.
  const email = `bench-${runId}@bench.kicks`;
  const password = "bench-password-1";
  const signup = await api(kicks.url, "POST", "/api/v1/auth/signup", { email, password, name: "Bench Buyer" });
  if (signup.status !== 201) throw new Error(`signup failed: ${signup.status} ${JSON.stringify(signup.body)}`);
  const login = await api<{ accessToken: string; user: { id: string } }>(kicks.url, "POST", "/api/v1/auth/login", {
    email,
    password,
  });
  if (login.status !== 200) throw new Error(`login failed: ${login.status} ${JSON.stringify(login.body)}`);
  const token = login.body.accessToken;
  const userId = login.body.user.id;
  const auth = { Authorization: `Bearer ${token}` };

  const reportScript = join(workDir, "report.lua");
  const chargeScript = join(workDir, "charge.lua");
  await writeFile(reportScript, REPORT_LUA);
  await writeFile(chargeScript, chargeLua(userId, token));

  const readBalance = async () => {
    const res = await api<{ balance: number; version: number }>(
      kicks.url,
      "GET",
      `/api/v1/balances/${userId}`,
      undefined,
      token,
    );
    if (res.status !== 200) throw new Error(`GET balance: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  };
  const readLedgerTotal = async () => {
    const res = await api<{ total: number }>(
      kicks.url,
      "GET",
      `/api/v1/balances/${userId}/transactions?size=1`,
      undefined,
      token,
    );
    if (res.status !== 200) throw new Error(`GET transactions: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body.total;
  };
  /** Requests cut off when wrk stops may still be running in the server: wait until the balance stops moving. */
  const settledBalance = async () => {
    let previous = await readBalance();
    for (let i = 0; i < 40; i++) {
      await Bun.sleep(250);
      const current = await readBalance();
      if (current.version === previous.version) return current;
      previous = current;
    }
    throw new Error("balance still changing 10 s after wrk stopped");
  };

  const scenarios = [
    { name: "baseline GET /", target: "baseline", method: "GET", path: "/", script: reportScript, headers: {} },
    { name: "kicks GET /healthz", target: "kicks", method: "GET", path: "/healthz", script: reportScript, headers: {} },
    {
      name: "kicks GET balance",
      target: "kicks",
      method: "GET",
      path: `/api/v1/balances/${userId}`,
      script: reportScript,
      headers: auth,
    },
    {
      name: "kicks POST charge",
      target: "kicks",
      method: "POST",
      path: "/api/v1/balances/charge",
      script: chargeScript,
      headers: {},
    },
  ] as const;

  const results: ScenarioResult[] = [];
  /** The server's own count of 2xx charges (warm-up included) and of lost optimistic races, from /metrics. */
  const readChargeMetrics = async () => {
    const res = await fetch(`${kicks.url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    const text = await res.text();
    let charges2xx: number | undefined;
    let conflicts: number | undefined;
    for (const metricLine of text.split("\n")) {
      const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(metricLine);
      if (!match) continue;
      const [, name, labels = "", value] = match;
      if (name === "balance_update_conflicts_total") conflicts = Number(value);
      if (
        name === "http_requests_total" &&
        labels.includes('method="POST"') &&
        labels.includes('route="/api/v1/balances/charge"') &&
        /status="2\d\d"/.test(labels)
      ) {
        charges2xx = (charges2xx ?? 0) + Number(value);
      }
    }
    return { charges2xx, conflicts };
  };

  let charge:
    | {
        report: WrkReport;
        before: number;
        after: number;
        ledgerTotal: number;
        balance: number;
        metrics: { charges2xx?: number; conflicts?: number };
      }
    | undefined;
  for (const scenario of scenarios) {
    const url = (scenario.target === "baseline" ? baseline.url : kicks.url) + scenario.path;
    if (WARMUP_SECONDS > 0) await wrk(url, WARMUP_SECONDS, scenario.script, scenario.headers);
    const isCharge = scenario.path.endsWith("/charge");
    const before = isCharge ? (await settledBalance()).balance : 0;
    process.stdout.write(`  ${scenario.name} ... `);
    const report = await wrk(url, SECONDS, scenario.script, scenario.headers);
    const rps = report.requests / (report.durationUs / 1e6);
    const baselineRps = results[0]?.requestsPerSecond ?? rps;
    results.push({
      name: scenario.name,
      target: scenario.target,
      method: scenario.method,
      path: scenario.path.replace(userId, "{userId}"),
      requestsPerSecond: Math.round(rps),
      ratioVsBaseline: rps / baselineRps,
      report,
    });
    console.log(`${Math.round(rps)} req/s`);
    if (isCharge) {
      const after = await settledBalance();
      charge = {
        report,
        before,
        after: after.balance,
        balance: after.balance,
        ledgerTotal: await readLedgerTotal(),
        metrics: await readChargeMetrics(),
      };
    }
  }

  // Invariants of the charge run, over HTTP.
  const invariants: { name: string; ok: boolean; detail: string }[] = [];
  if (charge) {
    const { report } = charge;
    const ok2xx = Object.entries(report.statuses)
      .filter(([code]) => code.startsWith("2"))
      .reduce((sum, [, n]) => sum + n, 0);
    const other = Object.entries(report.statuses).filter(([code]) => !code.startsWith("2"));
    const landed = charge.after - charge.before;
    invariants.push(
      {
        name: "no non-2xx charge responses",
        ok: report.errors.status === 0 && other.length === 0,
        detail: `wrk non-2xx/3xx: ${report.errors.status}; statuses: ${JSON.stringify(report.statuses)}`,
      },
      {
        name: "balance equals ledger rows (amount 1 each)",
        ok: charge.balance === charge.ledgerTotal,
        detail: `balance ${charge.balance}, ledger rows ${charge.ledgerTotal}`,
      },
      {
        // Requests in flight when wrk stops may land without wrk seeing the answer: at most one per connection.
        name: "charges landed match 2xx seen by wrk",
        ok: landed >= ok2xx && landed <= ok2xx + CONNECTIONS,
        detail: `landed ${landed} during the run, wrk saw ${ok2xx} x 2xx (allowed ${ok2xx}..${ok2xx + CONNECTIONS})`,
      },
    );
    if (charge.metrics.charges2xx !== undefined) {
      invariants.push({
        name: "server-counted 2xx charges equal ledger rows",
        ok: charge.metrics.charges2xx === charge.ledgerTotal,
        detail: `http_requests_total 2xx charges ${charge.metrics.charges2xx}, ledger rows ${charge.ledgerTotal}`,
      });
    }
  }

  // Report.
  const rows = results.map((r) => [
    r.name,
    String(r.requestsPerSecond),
    ms(r.report.latencyUs.p50),
    ms(r.report.latencyUs.p99),
    ratio(r.ratioVsBaseline),
    String(r.report.errors.status),
    String(r.report.errors.connect + r.report.errors.read + r.report.errors.write + r.report.errors.timeout),
  ]);
  const header = ["scenario", "req/s", "p50", "p99", "vs baseline", "non-2xx", "socket errors"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] ?? "").length)));
  const line = (cells: string[]) =>
    `| ${cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join(" | ")} |`;
  console.log();
  console.log(line(header));
  console.log(`|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : `${"-".repeat(w + 1)}:`)).join("|")}|`);
  for (const row of rows) console.log(line(row));
  console.log();
  for (const inv of invariants) console.log(`${inv.ok ? "ok  " : "FAIL"} ${inv.name}: ${inv.detail}`);
  if (charge?.metrics.conflicts !== undefined) {
    console.log(`lost optimistic races during charges (balance_update_conflicts_total): ${charge.metrics.conflicts}`);
  }

  const gitCommit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
  const output = {
    startedAt,
    gitCommit: gitCommit || undefined,
    bun: Bun.version,
    wrk: wrkVersion,
    cpus: availableParallelism(),
    seconds: SECONDS,
    warmupSeconds: WARMUP_SECONDS,
    connections: CONNECTIONS,
    threads: THREADS,
    mode,
    scenarios: results,
    invariants,
    chargeMetrics: charge?.metrics,
  };
  const resultsFile = join(resultsDir, "latest.json");
  await writeFile(resultsFile, `${JSON.stringify(output, null, 2)}\n`);
  console.log(`\nresults: ${resultsFile}`);

  // Kicks should drain and exit 0 on SIGTERM; anything else is worth knowing.
  const kicksExit = await stopProcess(kicks.proc);
  if (kicksExit !== 0)
    console.error(`kicks exited with ${kicksExit ?? kicks.proc.signalCode} on SIGTERM:\n${tail(kicks.log)}`);
  return invariants.every((inv) => inv.ok) ? 0 : 1;
}

let exitCode = 1;
try {
  exitCode = await main();
} catch (error) {
  // After SIGINT/SIGTERM the failure is only the interrupted wrk: abort() already said why.
  if (!cleaning) console.error(`\nbenchmark failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  await cleanup();
  clearTimeout(deadline);
}
process.exit(exitCode);
