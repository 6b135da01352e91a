// `bun bench/balance-cpu.ts`: where the CPU of `GET /api/v1/balances/{userId}` goes, measured in process against a
// real PostgreSQL (DATABASE_URL; REDIS_URL as production would have it). The same balance row is read, one read
// after another, through successively more of the request path, and the CPU time of each thread of the process
// (/proc ticks; process.cpuUsage for the total) is divided by the number of reads:
//
//   postgres.js   a bare postgres.js client, the same select as a tagged template (prepared per connection)
//   service       BalanceService.getBalance: the ownership check, then the statement built once (balance_by_user)
//   app           app.fetch of the request, token and all (the access line written to /dev/null)
//
// Each is measured BALANCE_ROUNDS times, interleaved, and the lowest and the median are printed.
// Environment: BALANCE_READS (20000), BALANCE_ROUNDS (5); DATABASE_URL is required (a throwaway database is made).
// Profile: `bun --cpu-prof --cpu-prof-dir=/tmp/prof bench/balance-cpu.ts`, then bench/profile-samples.ts.

import { openSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import postgres from "postgres";
import { createApp } from "../src/app";
import { buildContainer } from "../src/container";
import { loadConfig } from "../src/infra/config";
import { bufferedOutput } from "../src/infra/log-output";
import { createLogger } from "../src/infra/logger";
import { envInt } from "./config";
import { prepareEnvironment } from "./environment";
import { runThenExit } from "./processes";

const READS = envInt("BALANCE_READS", 20_000, 1, 10_000_000);
const ROUNDS = envInt("BALANCE_ROUNDS", 5, 1, 100);
const ONLY = process.env.BALANCE_ONLY ? new Set(process.env.BALANCE_ONLY.split(",")) : undefined;
const TICKS_PER_SECOND = 100;

function threadTicks(): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const task of readdirSync("/proc/self/task")) {
    try {
      const stat = readFileSync(`/proc/self/task/${task}/stat`, "utf8");
      const close = stat.lastIndexOf(")");
      const name = task === String(process.pid) ? "main" : stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      ticks.set(name, (ticks.get(name) ?? 0) + Number(fields[11]) + Number(fields[12]));
    } catch {
      // The thread ended in between.
    }
  }
  return ticks;
}

interface Figure {
  cpuUs: number;
  mainUs: number;
}

async function measure(read: () => Promise<unknown>, count: number): Promise<Figure> {
  const before = threadTicks();
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i++) await read();
  const used = process.cpuUsage(cpu);
  const main = ((threadTicks().get("main") ?? 0) - (before.get("main") ?? 0)) * (1e6 / TICKS_PER_SECOND);
  return { cpuUs: (used.user + used.system) / count, mainUs: main / count };
}

async function main() {
  if (!process.env.DATABASE_URL) throw new Error("DATABASE_URL is required");
  const env = await prepareEnvironment(`balance_${Date.now().toString(36)}`);
  const config = loadConfig({
    ...process.env,
    LOG_LEVEL: undefined,
    NODE_ENV: "production",
    DATABASE_URL: env.databaseUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisKeyPrefix,
    JWT_SECRET: env.jwtSecret,
    DATA_DIR: join(env.workDir, "data"),
  });
  const logger = createLogger(config.LOG_LEVEL, {}, bufferedOutput(openSync("/dev/null", "w")));
  const container = buildContainer(config, logger, { processMetrics: true });
  await container.database.migrate();
  const app = createApp(container);
  const post = async (path: string, body: unknown) => {
    const res = await app.fetch(
      new Request(`http://localhost${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      }),
    );
    if (res.status >= 300) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as any;
  };
  const email = `balance-${Date.now()}@bench.kicks`;
  await post("/api/v1/auth/signup", { email, password: "bench-password-1", name: "Balance Reader" });
  const login = await post("/api/v1/auth/login", { email, password: "bench-password-1" });
  const userId = login.user.id as string;
  const actor = { userId, role: login.user.role };

  const bare = postgres(env.databaseUrl as string, { max: 1, onnotice: () => {} });
  const init = { headers: { Authorization: `Bearer ${login.accessToken}` } };
  const url = `http://localhost/api/v1/balances/${userId}`;
  const ways: Record<string, () => Promise<unknown>> = {
    "postgres.js": () => bare`select user_id, balance, version, updated_at from balances where user_id = ${userId}`,
    service: () => container.services.balances.getBalance(actor, userId),
    app: async () => {
      const res = await app.fetch(new Request(url, init));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`balance: ${res.status}`);
    },
  };
  const names = Object.keys(ways).filter((name) => !ONLY || ONLY.has(name));
  for (const name of names) await measure(ways[name] as () => Promise<unknown>, READS);
  const figures = new Map<string, Figure[]>(names.map((name) => [name, []]));
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) figures.get(name)?.push(await measure(ways[name] as () => Promise<unknown>, READS));
  }
  console.log(`${READS} reads per round, ${ROUNDS} rounds; bun ${Bun.version}; redis: ${env.mode.redis}`);
  console.log("way            CPU µs/read lowest  median   main thread µs/read lowest  median");
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
  for (const [name, list] of figures) {
    const cpu = list.map((f) => f.cpuUs);
    const mainThread = list.map((f) => f.mainUs);
    console.log(
      `${name.padEnd(14)} ${Math.min(...cpu)
        .toFixed(1)
        .padStart(18)}  ${median(cpu).toFixed(1).padStart(6)}   ${Math.min(...mainThread)
        .toFixed(1)
        .padStart(26)}  ${median(mainThread).toFixed(1).padStart(6)}`,
    );
  }
  await bare.end({ timeout: 5 });
  await container.close();
}

await runThenExit("balance bench", main);
