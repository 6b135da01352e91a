// Load generation with wrk. Its human report is hard to parse reliably, so a Lua `done` hook prints one
// machine-readable line that wrk() picks out of stdout.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { CONNECTIONS, THREADS, WRK_TIMEOUT_SECONDS } from "./config";
import { track } from "./processes";

const REPORT_PREFIX = "BENCH_JSON ";

/**
 * Prints one machine-readable line after wrk's own report; the charge and coupon scripts also count statuses
 * per thread. Each thread learns its number (1, 2, …) as `thread_index`, to pick its own share of inputs.
 */
export const REPORT_LUA = `
local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("thread_index", #threads)
end
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
    '${REPORT_PREFIX}{"requests":%d,"durationUs":%d,"bytes":%d,' ..
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

/**
 * A different list query every request (price floor, category and page drawn at random), so nearly every
 * request misses the cache: the cost of a list served by PostgreSQL.
 */
const uncachedListLua = (categories: string[]) => `
local categories = { ${categories.map((c) => `"${c}"`).join(", ")} }
request = function()
  local path = "/api/v1/products?size=20&sort=price_asc&minPrice=" .. math.random(0, 300000) ..
    "&category=" .. categories[math.random(1, #categories)] .. "&page=" .. math.random(1, 5)
  return wrk.format("GET", path)
end
${REPORT_LUA}`;

export type WrkScript = "report" | "charge" | "uncached-list";

/** Writes the Lua scripts into `dir`: "charge" posts 1 KRW charges for the buyer, "report" only measures. */
export async function writeWrkScripts(
  dir: string,
  userId: string,
  token: string,
  categories: string[],
): Promise<Record<WrkScript, string>> {
  const scripts = {
    report: join(dir, "report.lua"),
    charge: join(dir, "charge.lua"),
    "uncached-list": join(dir, "uncached-list.lua"),
  };
  await writeFile(scripts.report, REPORT_LUA);
  await writeFile(scripts.charge, chargeLua(userId, token));
  await writeFile(scripts["uncached-list"], uncachedListLua(categories));
  return scripts;
}

export interface WrkReport {
  requests: number;
  durationUs: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; status: number; timeout: number };
  latencyUs: { min: number; mean: number; stdev: number; max: number; p50: number; p90: number; p99: number };
  /** Only filled when the script counts responses (the charge scenario). */
  statuses: Record<string, number>;
}

/** Exits with an install hint when wrk is missing; else returns its version line. */
export function requireWrk(): string {
  if (!Bun.which("wrk")) {
    console.error("wrk is not on PATH. Install it with:\n  apt-get install -y wrk");
    process.exit(1);
  }
  return (Bun.spawnSync(["wrk", "--version"]).stdout.toString().split("\n")[0] ?? "").trim();
}

export async function wrk(
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
  const proc = track(Bun.spawn(args, { stdin: "ignore", stdout: "pipe", stderr: "pipe" }));
  // -d bounds the load, not a wrk that hangs on a stuck connection.
  const killer = setTimeout(() => proc.kill("SIGKILL"), (seconds + 20) * 1000);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(killer);
  const line = stdout.split("\n").find((l) => l.startsWith(REPORT_PREFIX));
  if (proc.exitCode !== 0 || !line) {
    throw new Error(`wrk failed (exit ${proc.exitCode ?? proc.signalCode}) on ${url}:\n${stdout}${stderr}`);
  }
  return JSON.parse(line.slice(REPORT_PREFIX.length)) as WrkReport;
}
