// The bench's knobs (documented at the top of bench/run.ts) and the time limits derived from them. Read once, at
// import, so a bad value stops the run before anything is started.
import { resolve } from "node:path";

export const ROOT = resolve(import.meta.dir, "..");

export function envInt(name: string, fallback: number, min: number, max: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    console.error(`${name} must be an integer from ${min} to ${max} (got "${raw}")`);
    process.exit(1);
  }
  return value;
}

export const SECONDS = envInt("BENCH_SECONDS", 10, 1, 600);
export const CONNECTIONS = envInt("BENCH_CONNECTIONS", 64, 1, 10_000);
export const THREADS = Math.min(envInt("BENCH_THREADS", 2, 1, 64), CONNECTIONS);
export const WARMUP_SECONDS = envInt("BENCH_WARMUP_SECONDS", Math.min(2, SECONDS), 0, 60);
export const WRK_TIMEOUT_SECONDS = 5;
export const OUTBOX_EVENTS = envInt("BENCH_OUTBOX_EVENTS", 50_000, 2, 1_000_000);
export const OUTBOX_APPEND_RATE = envInt("BENCH_OUTBOX_RATE", 500, 1, 100_000);
export const MODULE_NAMES = ["http", "coupons", "outbox", "orders", "checkout", "sales"] as const;
export type BenchModule = (typeof MODULE_NAMES)[number];

/** BENCH_MODULES: a comma-separated subset of MODULE_NAMES (default all); the hello-world baseline always runs. */
function readModules(): Set<BenchModule> {
  const raw = process.env.BENCH_MODULES;
  if (raw === undefined || raw.trim() === "") return new Set(MODULE_NAMES);
  const names = raw.split(",").map((name) => name.trim());
  const unknown = names.filter((name) => !(MODULE_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    console.error(`BENCH_MODULES: unknown module(s) ${unknown.join(", ")}; choose from ${MODULE_NAMES.join(", ")}`);
    process.exit(1);
  }
  return new Set(names as BenchModule[]);
}
export const MODULES = readModules();

/**
 * The orders and checkout modules' share of the deadline: pgbench (two inits, four runs), setup, and four
 * scenarios for each of the two crowds.
 */
export const ORDERS_BUDGET_MS = 300_000 + 12 * (WARMUP_SECONDS + SECONDS + 20) * 1000;

/** The outbox module's share of the deadline: the bulk delivery, then a loaded run with its drain. */
export const OUTBOX_BUDGET_MS = 180_000 + (WARMUP_SECONDS + SECONDS + 60) * 1000;
export const STARTUP_TIMEOUT_MS = 60_000;
export const TERM_GRACE_MS = 12_000; // Kicks drains for up to 8 s on SIGTERM.

/** Hard ceiling for the whole run: setup, every scenario with its warm-up and slack, teardown. */
export function deadlineMs(scenarioCount: number): number {
  return 2 * STARTUP_TIMEOUT_MS + scenarioCount * (WARMUP_SECONDS + SECONDS + 20) * 1000 + 2 * TERM_GRACE_MS + 30_000;
}
