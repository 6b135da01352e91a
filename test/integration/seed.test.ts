import { afterAll, describe, expect, it } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { freshPostgresDatabase, TEST_JWT_SECRET } from "../support/harness";

const { services, migrationsDir } = globalThis.kicksTest;
const root = join(import.meta.dir, "../..");
const dataDir = mkdtempSync(join(tmpdir(), "kicks-seed-"));

// A database of its own: the seed refuses to run twice, and other files' products must not count.
let databaseUrl: string | undefined;
const name = `kicks_seed_${Date.now().toString(36)}`;
if (services.databaseUrl) {
  const admin = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(services.databaseUrl);
  url.pathname = `/${name}`;
  databaseUrl = url.toString();
}
afterAll(async () => {
  rmSync(dataDir, { recursive: true, force: true });
  if (!services.databaseUrl) return;
  const admin = postgres(services.databaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`drop database if exists ${name} with (force)`);
  await admin.end();
});

// The catalogue and order figures below are the seed's alone: the demo shop is checked in a database of its own.
const seed = (...args: string[]) => seedInto(databaseUrl, "--no-demo", ...args);

async function seedInto(url: string | undefined, ...args: string[]) {
  return seedWith({ DATA_DIR: dataDir }, url, ...args);
}

async function seedWith(extraEnv: Record<string, string>, url: string | undefined, ...args: string[]) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    MIGRATIONS_DIR: migrationsDir,
    ...extraEnv,
  };
  if (url) Object.assign(env, { DATABASE_URL: url, JWT_SECRET: TEST_JWT_SECRET });
  const proc = Bun.spawn(["bun", "src/commands/seed.ts", ...args], {
    cwd: root,
    env,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [output, errors] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  return { code: await proc.exited, output, errors };
}

describe("bun run seed", () => {
  it("fills a catalogue once and refuses to seed twice", async () => {
    const first = await seed("--products", "300");
    expect(first.code).toBe(0);
    expect(first.output).toContain("seeded 20 sellers and 300 products");
    const again = await seed("--products", "300");
    expect(again.code).toBe(0);
    expect(again.output).toContain("already seeded");

    if (!databaseUrl) return;
    const db = postgres(databaseUrl, { max: 1 });
    try {
      const [counts] = await db`select count(*)::int as products, count(distinct brand)::int as brands,
        count(distinct category)::int as categories, min(price)::int as cheapest, max(price)::int as dearest,
        count(*) filter (where stock = 0)::int as sold_out, count(distinct seller_id)::int as sellers from products`;
      expect(counts).toMatchObject({ products: 300, sellers: 20 });
      expect(counts?.brands).toBeGreaterThanOrEqual(10);
      expect(counts?.categories).toBeGreaterThanOrEqual(5);
      expect(counts?.cheapest).toBeGreaterThanOrEqual(50_000);
      expect(counts?.dearest).toBeLessThanOrEqual(500_000);
      expect(counts?.sold_out).toBeGreaterThan(0);
      // Models in sizes: every fifth product, the first model complete (three sellers, every size).
      const [sized] = await db`select count(*)::int as products, count(distinct seller_id)::int as sellers,
        count(distinct shoe_size)::int as sizes from products where model_key = 'dz5485-612'`;
      expect(sized).toEqual({ products: 33, sellers: 3, sizes: 11 });
      const [models] = await db`select count(*) filter (where model_code is not null)::int as sized from products`;
      expect(models?.sized).toBe(60);
    } finally {
      await db.end();
    }
  });

  it("adds paid orders over 30 days once, with books that balance", async () => {
    // A catalogue first (the seed keeps the one it already made), then orders on it.
    const first = await seed("--products", "300", "--orders", "400");
    expect(first.code).toBe(0);
    expect(first.output).toMatch(/seeded 400 paid orders \((\d+) order lines\) over 30 days/);
    const again = await seed("--products", "300", "--orders", "400");
    expect(again.output).toContain("orders already seeded");

    if (!databaseUrl) return;
    const db = postgres(databaseUrl, { max: 1 });
    try {
      const [orders] = await db`select count(*)::int as orders, count(distinct user_id)::int as buyers,
        min(paid_at) > now() - interval '30 days 1 minute' as within_window,
        bool_and(status in ('CONFIRMED', 'COMPLETED')) as paid from orders`;
      expect(orders).toMatchObject({ orders: 400, within_window: true, paid: true });
      expect(orders?.buyers).toBeGreaterThan(100);
      const [sales] =
        await db`select sum(quantity)::int as units, (select sum(quantity)::int from order_items) as lines_units,
        count(distinct sales_day)::int as days from product_sales_daily`;
      expect(sales?.units).toBe(sales?.lines_units);
      expect(sales?.days).toBeGreaterThanOrEqual(25);
      const check = Bun.spawn(["bun", "src/commands/invariants.ts"], {
        cwd: root,
        env: {
          PATH: process.env.PATH ?? "",
          MIGRATIONS_DIR: migrationsDir,
          DATABASE_URL: databaseUrl,
          JWT_SECRET: TEST_JWT_SECRET,
        },
        stdout: "pipe",
      });
      expect(await new Response(check.stdout).text()).toContain("invariants hold");
      expect(await check.exited).toBe(0);
    } finally {
      await db.end();
    }
  });

  it.skipIf(!services.databaseUrl)("refuses orders when no product is on sale", async () => {
    const empty = await seedInto(await freshPostgresDatabase(), "--no-demo", "--products", "0", "--orders", "10");
    expect(empty.code).toBe(1);
    expect(empty.errors).toContain("no product is on sale");
  });

  it("prints its options with --help, and refuses an unknown one with them", async () => {
    const help = await seed("--help");
    expect(help.code).toBe(0);
    for (const option of ["--products N", "--orders N", "--no-demo", "--help"]) expect(help.output).toContain(option);
    const unknown = await seed("--product", "5");
    expect(unknown.code).toBe(1);
    expect(unknown.errors).toContain("Unknown option '--product'");
    expect(unknown.errors).toContain("--products N");
  });

  it("refuses a product or order count that is not a whole number", async () => {
    expect((await seed("--products", "many")).code).toBe(1);
    expect((await seed("--orders", "-5")).code).toBe(1);
  });
});

describe("bun run seed's demo shop", () => {
  it("makes an admin, sellers, charged buyers, coupons and paid, shipped, completed, refunded and returned orders once, and prints the logins", async () => {
    // A database (or DATA_DIR) of its own, so the counts below are the demo shop's alone.
    const url = services.databaseUrl ? await freshPostgresDatabase() : undefined;
    const demoDir = mkdtempSync(join(tmpdir(), "kicks-demo-"));
    try {
      const env = {
        DATA_DIR: demoDir,
        ...(services.redisUrl ? { REDIS_URL: services.redisUrl, REDIS_KEY_PREFIX: `kicks-demo-${Date.now()}:` } : {}),
      };
      const first = await seedWith(env, url, "--products", "0");
      expect({ code: first.code, errors: first.errors }).toEqual({ code: 0, errors: "" });
      expect(first.output).toContain("seeded the demo shop");
      for (const email of ["demo-admin@demo.kicks", "demo-seller-1@demo.kicks", "demo-buyer-3@demo.kicks"]) {
        expect(first.output).toContain(email);
      }
      expect(first.output).toContain("password kicks-demo-2026");
      expect(first.output).toContain("/api/v1/auth/login");
      const again = await seedWith(env, url, "--products", "0");
      expect(again.code).toBe(0);
      expect(again.output).toContain("demo shop already seeded");
      expect(again.output).toContain("demo-buyer-1@demo.kicks");

      if (!url) return;
      const db = postgres(url, { max: 1 });
      try {
        const roles =
          await db`select role, count(*)::int as n from users where email like '%@demo.kicks' group by role order by role`;
        expect(roles.map((r) => [r.role, r.n])).toEqual([
          ["ADMIN", 1],
          ["SELLER", 2],
          ["BUYER", 3],
        ]);
        const wallets = await db`select b.balance::int as balance from balances b join users u on u.id = b.user_id
          where u.role = 'BUYER' and u.email like '%@demo.kicks'`;
        expect(wallets.every((w) => w.balance > 0)).toBe(true);
        const statuses = await db`select status, count(*)::int as n from orders group by status order by status`;
        expect(Object.fromEntries(statuses.map((s) => [s.status, s.n]))).toEqual({
          CONFIRMED: 1,
          SHIPPED: 1,
          COMPLETED: 1,
          CANCELLED: 3,
        });
        const refunds = await db`select distinct status from refunds`;
        expect(refunds.map((r) => r.status)).toEqual(["REFUNDED"]);
        // Refunded after delivery: one pair still awaited, one returned resellable.
        const awaited = await db`select name, awaiting_return::int as awaiting from products
          where awaiting_return > 0 or id in (select product_id from order_return_items) order by name`;
        expect(awaited.map((p) => [p.name, p.awaiting])).toEqual([
          ["Adidas Samba OG", 1],
          ["Nike Dunk Low Panda", 0],
        ]);
        const coupons = await db`select code, issued_quantity::int as issued from coupons order by code`;
        expect(coupons.map((c) => [c.code, c.issued])).toEqual([
          ["DROP20K", 1],
          ["WELCOME10", 1],
        ]);
        const check = Bun.spawn(["bun", "src/commands/invariants.ts"], {
          cwd: root,
          env: {
            PATH: process.env.PATH ?? "",
            MIGRATIONS_DIR: migrationsDir,
            DATABASE_URL: url,
            JWT_SECRET: TEST_JWT_SECRET,
          },
          stdout: "pipe",
        });
        expect(await new Response(check.stdout).text()).toContain("invariants hold");
        expect(await check.exited).toBe(0);
      } finally {
        await db.end();
      }
    } finally {
      rmSync(demoDir, { recursive: true, force: true });
    }
  }, 180_000);
});
