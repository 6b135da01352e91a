// The bench's buyer, and what it reads back from Kicks over HTTP to check the money after a charge run. Only the
// public API and /metrics are used, as a client would see them.

import { SEED_CATEGORIES } from "../src/infra/db/seed/catalogue";
import { ROOT } from "./config";

export interface Buyer {
  userId: string;
  token: string;
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

function expectStatus<T>(res: { status: number; body: T }, status: number, failure: string): T {
  if (res.status !== status) throw new Error(`${failure}: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body;
}

export async function signUpBuyer(base: string, runId: string): Promise<Buyer> {
  const email = `bench-${runId}@bench.kicks`;
  const password = "bench-password-1";
  expectStatus(
    await api(base, "POST", "/api/v1/auth/signup", { email, password, name: "Bench Buyer" }),
    201,
    "signup failed",
  );
  const login = expectStatus(
    await api<{ accessToken: string; user: { id: string } }>(base, "POST", "/api/v1/auth/login", { email, password }),
    200,
    "login failed",
  );
  return { userId: login.user.id, token: login.accessToken };
}

async function getAsBuyer<T>(base: string, buyer: Buyer, path: string, failure: string): Promise<T> {
  return expectStatus(await api<T>(base, "GET", path, undefined, buyer.token), 200, failure);
}

const readBalance = (base: string, buyer: Buyer) =>
  getAsBuyer<{ balance: number; version: number }>(base, buyer, `/api/v1/balances/${buyer.userId}`, "GET balance");

export async function readLedgerTotal(base: string, buyer: Buyer): Promise<number> {
  const path = `/api/v1/balances/${buyer.userId}/transactions?size=1`;
  return (await getAsBuyer<{ total: number }>(base, buyer, path, "GET transactions")).total;
}

/** Requests cut off when wrk stops may still be running in the server: wait until the balance stops moving. */
export async function settledBalance(base: string, buyer: Buyer) {
  let previous = await readBalance(base, buyer);
  for (let i = 0; i < 40; i++) {
    await Bun.sleep(250);
    const current = await readBalance(base, buyer);
    if (current.version === previous.version) return current;
    previous = current;
  }
  throw new Error("balance still changing 10 s after wrk stopped");
}

export interface ChargeMetrics {
  charges2xx?: number;
  conflicts?: number;
}

/** The server's own count of 2xx charges (warm-up included) and of lost optimistic races, from /metrics. */
export async function readChargeMetrics(base: string): Promise<ChargeMetrics> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(10_000) });
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
}

export const SEEDED_PRODUCTS = 10_000;

/** `bun run seed` with the server's environment: 10k products before the server starts. */
export async function seedCatalogue(env: Record<string, string | undefined>, log: string): Promise<void> {
  const proc = Bun.spawn(["bun", "src/commands/seed.ts", "--no-demo", "--products", String(SEEDED_PRODUCTS)], {
    cwd: ROOT,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const output = (await new Response(proc.stdout).text()) + (await new Response(proc.stderr).text());
  await Bun.write(log, output);
  if ((await proc.exited) !== 0) throw new Error(`seeding the catalogue failed:\n${output}`);
  console.log(`catalogue: ${output.trim().split("\n")[0]}`);
}

/** A product to read and the categories to query, from the public list. */
export async function readCatalogue(base: string): Promise<{ productId: string; categories: string[] }> {
  const page = expectStatus(
    await api<{ items: { id: string }[]; total: number }>(base, "GET", "/api/v1/products?size=1&category=running"),
    200,
    "GET products",
  );
  const first = page.items[0];
  if (!first) throw new Error("the seeded catalogue has no running shoes");
  return { productId: first.id, categories: SEED_CATEGORIES };
}
