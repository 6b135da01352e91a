// CPU time per checkout in one process: N sequential checkouts (POST /orders, then POST /payments/process, each
// with an Idempotency-Key, as the bench and a careful client send them) through app.fetch, on PostgreSQL and
// Redis, measured with process.cpuUsage() (user + system, every thread of the process: the relay worker too).
// Sequential and in process, so the figure is the server's work per checkout, not a throughput on a shared
// machine. `DATABASE_URL=postgres://… REDIS_URL=redis://… bun bench/checkout-cpu.ts [checkouts] [rounds]`
// (a throwaway database is created next to DATABASE_URL's and dropped after; the simulated gateway).
import postgres from "postgres";
import { createApp } from "../src/app";
import { buildContainer } from "../src/container";
import { loadConfig } from "../src/infra/config";
import { createLogger } from "../src/infra/logger";

const checkouts = Number(process.argv[2] ?? 300);
const rounds = Number(process.argv[3] ?? 3);
const baseUrl = process.env.DATABASE_URL;
if (!baseUrl || !process.env.REDIS_URL) throw new Error("DATABASE_URL and REDIS_URL are required");

const name = `kicks_cpu_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`;
const admin = postgres(baseUrl, { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${name}`);
const url = new URL(baseUrl);
url.pathname = `/${name}`;

const config = loadConfig({
  ...process.env,
  DATABASE_URL: url.toString(),
  REDIS_KEY_PREFIX: `${name}:`,
  JWT_SECRET: "checkout-cpu-secret-at-least-32-characters-long",
  LOG_LEVEL: "silent",
});
const container = buildContainer(config, createLogger("silent"));
await container.database.migrate();
const app = createApp(container);

async function call(method: string, path: string, body: unknown, token?: string, key?: string) {
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (key) headers["Idempotency-Key"] = key;
  const res = await app.request(path, { method, headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as any };
}

async function user(role: "SELLER" | "BUYER") {
  const email = `${role.toLowerCase()}-${crypto.randomUUID()}@cpu.kicks`;
  const password = "cpu-password-1";
  const fields = role === "SELLER" ? { businessRegistrationNumber: "124-81-00998" } : {};
  const signup = await call("POST", "/api/v1/auth/signup", { email, password, name: role, role, ...fields });
  if (signup.status !== 201) throw new Error(`signup ${signup.status}`);
  const login = await call("POST", "/api/v1/auth/login", { email, password });
  return { id: login.body.user.id as string, token: login.body.accessToken as string };
}

const seller = await user("SELLER");
const buyer = await user("BUYER");
const product = await call(
  "POST",
  "/api/v1/products",
  { name: "Cpu runner", brand: "Bench", category: "running", price: 1000, stock: 1_000_000 },
  seller.token,
);
if (product.status !== 201) throw new Error(`product ${product.status}`);

async function checkout() {
  const order = await call(
    "POST",
    "/api/v1/orders",
    { userId: buyer.id, items: [{ productId: product.body.id, quantity: 1 }] },
    buyer.token,
    crypto.randomUUID(),
  );
  if (order.status !== 201) throw new Error(`order ${order.status} ${JSON.stringify(order.body)}`);
  const paid = await call(
    "POST",
    "/api/v1/payments/process",
    { orderId: order.body.id },
    buyer.token,
    crypto.randomUUID(),
  );
  if (paid.status !== 200) throw new Error(`payment ${paid.status} ${JSON.stringify(paid.body)}`);
}

async function charge(amount: number) {
  const res = await call("POST", "/api/v1/balances/charge", { userId: buyer.id, amount }, buyer.token);
  if (res.status !== 200) throw new Error(`charge ${res.status}`);
}

try {
  await charge((checkouts * rounds + 100) * 1000);
  for (let i = 0; i < 100; i++) await checkout(); // warm-up: JIT, prepared statements, caches
  const figures: number[] = [];
  for (let round = 0; round < rounds; round++) {
    const started = process.cpuUsage();
    const wall = performance.now();
    for (let i = 0; i < checkouts; i++) await checkout();
    const used = process.cpuUsage(started);
    const perCheckout = (used.user + used.system) / checkouts;
    figures.push(perCheckout);
    console.log(
      `round ${round + 1}: ${checkouts} checkouts, ${perCheckout.toFixed(0)} µs CPU each ` +
        `(user ${(used.user / checkouts).toFixed(0)}, system ${(used.system / checkouts).toFixed(0)}), ` +
        `${((performance.now() - wall) / checkouts).toFixed(2)} ms wall each`,
    );
  }
  const sorted = [...figures].sort((a, b) => a - b);
  console.log(`median ${sorted[Math.floor(sorted.length / 2)]?.toFixed(0)} µs CPU per checkout`);
} finally {
  await container.close();
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
  // The run's Redis keys (its own prefix) are cache entries: they expire with their TTL.
}
process.exit(0);
