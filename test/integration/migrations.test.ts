import { afterAll, describe, expect, it, setDefaultTimeout } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { readMigrationFiles } from "drizzle-orm/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import { allocateProportionally } from "../../src/domain/orders/pricing";
import { type DatabaseHandle, openDatabase, rowsOf } from "../../src/infra/db/client";
import { loadMigrations } from "../../src/infra/db/migrations/migrations";
import { freshPostgresDatabase } from "../support/harness";

// Databases on disk, migrated step by step: more than plain `bun test`'s 5 s on a busy machine.
setDefaultTimeout(60_000);

const { migrationsDir, services } = globalThis.kicksTest;
const scratch = mkdtempSync(join(tmpdir(), "kicks-migrations-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** The committed migrations up to and including `lastTag`, as a folder drizzle can apply. */
function migrationsUpTo(lastTag: string): string {
  const dir = join(scratch, lastTag);
  cpSync(migrationsDir, dir, { recursive: true });
  const journalPath = join(dir, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  const last = journal.entries.findIndex((entry: { tag: string }) => entry.tag === lastTag);
  journal.entries = journal.entries.slice(0, last + 1);
  writeFileSync(journalPath, JSON.stringify(journal));
  return dir;
}

describe("upgrading a database that already has ledger rows", () => {
  it("numbers each balance's ledger in the order the balance grew, even when created_at says otherwise", async () => {
    // A fresh embedded database on disk, so the upgrade runs on exactly the rows made here.
    const dataDir = join(scratch, "data");
    const before = openDatabase({ poolSize: 1, dataDir, migrationsDir: migrationsUpTo("0000_foundation") });
    await before.migrate();
    const userId = Bun.randomUUIDv7();
    await before.db.execute(sql`insert into users (id, email, password_hash, name, role)
      values (${userId}, ${`m-${userId}@test.kicks`}, 'x', 'M', 'BUYER')`);
    await before.db.execute(sql`insert into balances (user_id, balance, version) values (${userId}, 600, 3)`);
    // Written concurrently by the old code: created_at is each transaction's start, so the newest balance
    // can carry the oldest timestamp.
    const history = [
      { after: 100, amount: 100, at: "2026-11-25T10:00:00.002Z" },
      { after: 300, amount: 200, at: "2026-11-25T10:00:00.001Z" },
      { after: 600, amount: 300, at: "2026-11-25T10:00:00.000Z" },
    ];
    for (const { after, amount, at } of history) {
      await before.db.execute(sql`insert into balance_ledger (id, user_id, type, amount, balance_after, created_at)
        values (${Bun.randomUUIDv7()}, ${userId}, 'CHARGE', ${amount}, ${after}, ${at})`);
    }
    await before.close();

    const upgraded = openDatabase({ poolSize: 1, dataDir, migrationsDir });
    try {
      await upgraded.migrate();
      const ledger = rowsOf<{ balance_version: unknown; balance_after: unknown }>(
        await upgraded.db.execute(
          sql`select balance_version, balance_after from balance_ledger where user_id = ${userId} order by balance_version`,
        ),
      );
      expect(ledger.map((row) => [Number(row.balance_version), Number(row.balance_after)])).toEqual([
        [1, 100],
        [2, 300],
        [3, 600],
      ]);
    } finally {
      await upgraded.close();
    }
  });
});

describe("upgrading a database that already has paid orders", () => {
  it("backfills the daily sales of orders paid before the rollup existed, refunds taken off as they will be", async () => {
    const dataDir = join(scratch, "sales-data");
    const before = openDatabase({ poolSize: 1, dataDir, migrationsDir: migrationsUpTo("0013_outbox_notify") });
    await before.migrate();
    const [sellerA, sellerB, buyer, shoe, boot, paid, refunded, cancelled] = Array.from({ length: 8 }, () =>
      Bun.randomUUIDv7(),
    ) as string[];
    const run = (query: ReturnType<typeof sql>) => before.db.execute(query);
    for (const [id, role] of [
      [sellerA, "SELLER"],
      [sellerB, "SELLER"],
      [buyer, "BUYER"],
    ] as const) {
      await run(
        sql`insert into users (id, email, password_hash, name, role, business_registration_number)
        values (${id}, ${`m-${id}@test.kicks`}, 'x', 'M', ${role}, ${role === "SELLER" ? "124-81-00998" : null})`,
      );
    }
    for (const [id, seller, price] of [
      [shoe, sellerA, 10_000],
      [boot, sellerB, 20_000],
    ] as const) {
      await run(sql`insert into products (id, seller_id, name, brand, category, price, stock, units_stocked)
        values (${id}, ${seller}, 'P', 'B', 'running', ${price}, 100, 100)`);
    }
    // Paid 30,000 at 23:30 in Seoul; paid 30,000 less a 1,000 discount, then 1,001 refunded; paid and cancelled.
    const orders: [string, string, number, number, number, string][] = [
      [paid as string, "DELIVERED", 30_000, 0, 0, "2026-11-30T14:30:00Z"],
      [refunded as string, "CONFIRMED", 30_000, 1_000, 1_001, "2026-11-30T15:30:00Z"],
      [cancelled as string, "CANCELLED", 30_000, 0, 30_000, "2026-11-30T15:40:00Z"],
    ];
    for (const [id, status, subtotal, discount, refundedAmount, paidAt] of orders) {
      await run(sql`insert into orders (id, user_id, status, subtotal, discount_amount, total_amount, paid_amount,
          refunded_amount, expires_at, paid_at)
        values (${id}, ${buyer}, ${status}, ${subtotal}, ${discount}, ${subtotal - discount}, ${subtotal - discount},
          ${refundedAmount}, ${paidAt}, ${paidAt})`);
      for (const [product, seller, total, share] of [
        [shoe, sellerA, 10_000, Math.floor(discount / 3)],
        [boot, sellerB, 20_000, discount - Math.floor(discount / 3)],
      ] as const) {
        await run(sql`insert into order_items (id, order_id, product_id, seller_id, product_name, category, unit_price,
            quantity, line_total, discount_share)
          values (${Bun.randomUUIDv7()}, ${id}, ${product}, ${seller}, 'P', 'running', ${total}, 1, ${total}, ${share})`);
      }
    }
    await before.close();

    const upgraded = openDatabase({ poolSize: 1, dataDir, migrationsDir });
    try {
      await upgraded.migrate();
      const rows = rowsOf<Record<string, unknown>>(
        await upgraded.db.execute(sql`select sales_day::text as day, product_id, quantity, sales_amount, order_lines, orders,
            seller_orders from product_sales_daily order by sales_day, product_id`),
      );
      // The refunded order: paid 9,667 and 19,333 on its lines; 1,001 refunded splits as 334 and 667.
      const [shoeShare, bootShare] = allocateProportionally([9_667, 19_333], 1_001) as [number, number];
      expect(
        rows.map((r) => [
          r.day,
          r.product_id,
          Number(r.quantity),
          Number(r.sales_amount),
          Number(r.orders),
          Number(r.seller_orders),
        ]),
      ).toEqual([
        ["2026-11-30", shoe, 1, 10_000, 1, 1],
        ["2026-11-30", boot, 1, 20_000, 0, 1],
        ["2026-12-01", shoe, 1, 9_667 - shoeShare, 1, 1],
        ["2026-12-01", boot, 1, 19_333 - bootShare, 0, 1],
      ]);
      const lines = rowsOf<Record<string, unknown>>(
        await upgraded.db.execute(sql`select product_id, refunded_amount from order_items where order_id = ${refunded}
            order by product_id`),
      );
      expect(lines.map((l) => [l.product_id, Number(l.refunded_amount)])).toEqual([
        [shoe, shoeShare],
        [boot, bootShare],
      ]);
    } finally {
      await upgraded.close();
    }
  });
});

describe("upgrading a database that already has shipped orders", () => {
  it("marks as shipped the orders that shipped before orders kept when, and only those", async () => {
    const dataDir = join(scratch, "shipped-data");
    const before = openDatabase({ poolSize: 1, dataDir, migrationsDir: migrationsUpTo("0026_order_shipped_at") });
    await before.migrate();
    const [seller, buyer, shoe] = Array.from({ length: 3 }, () => Bun.randomUUIDv7());
    const run = (query: ReturnType<typeof sql>) => before.db.execute(query);
    for (const [id, role] of [
      [seller, "SELLER"],
      [buyer, "BUYER"],
    ] as const) {
      await run(sql`insert into users (id, email, password_hash, name, role, business_registration_number)
        values (${id}, ${`s-${id}@test.kicks`}, 'x', 'M', ${role}, ${role === "SELLER" ? "124-81-00998" : null})`);
    }
    await run(sql`insert into products (id, seller_id, name, brand, category, price, stock, units_stocked)
      values (${shoe}, ${seller}, 'P', 'B', 'running', 10000, 100, 100)`);
    // [status, delivered_at, awaiting return on its line, cancel reason]
    const cases = {
      shipped: ["SHIPPED", null, 0, null],
      delivered: ["DELIVERED", "2026-11-30T10:00:00Z", 0, null],
      completed: ["COMPLETED", "2026-11-29T10:00:00Z", 0, null],
      confirmed: ["CONFIRMED", null, 0, null],
      refundedAfterShipping: ["CANCELLED", null, 1, "REFUNDED"],
      refundedBeforeShipping: ["CANCELLED", null, 0, "REFUNDED"],
    } as const;
    const ids = Object.fromEntries(Object.keys(cases).map((name) => [name, Bun.randomUUIDv7()]));
    for (const [name, [status, deliveredAt, awaiting, reason]] of Object.entries(cases)) {
      await run(sql`insert into orders (id, user_id, status, subtotal, discount_amount, total_amount, paid_amount,
          refunded_amount, expires_at, paid_at, delivered_at, cancelled_at, cancel_reason, updated_at)
        values (${ids[name]}, ${buyer}, ${status}, 10000, 0, 10000, 10000, ${status === "CANCELLED" ? 10000 : 0},
          now(), now(), ${deliveredAt}, ${status === "CANCELLED" ? "2026-12-01T10:00:00Z" : null}, ${reason},
          '2026-12-02T10:00:00Z')`);
      await run(sql`insert into order_items (id, order_id, product_id, seller_id, product_name, category, unit_price,
          quantity, line_total, awaiting_return)
        values (${Bun.randomUUIDv7()}, ${ids[name]}, ${shoe}, ${seller}, 'P', 'running', 10000, 1, 10000, ${awaiting})`);
    }
    await before.close();

    const upgraded = openDatabase({ poolSize: 1, dataDir, migrationsDir });
    try {
      await upgraded.migrate();
      const rows = rowsOf<{ id: string; shipped_at: unknown }>(
        await upgraded.db.execute(sql`select id, shipped_at from orders where user_id = ${buyer}`),
      );
      const shippedAt = (name: string) => {
        const at = rows.find((row) => row.id === ids[name])?.shipped_at;
        return at === null || at === undefined ? null : new Date(at as string).toISOString();
      };
      // Its delivery if it has one (it shipped by then), else its last change, or its cancel.
      expect(Object.keys(cases).map((name) => [name, shippedAt(name)])).toEqual([
        ["shipped", "2026-12-02T10:00:00.000Z"],
        ["delivered", "2026-11-30T10:00:00.000Z"],
        ["completed", "2026-11-29T10:00:00.000Z"],
        ["confirmed", null],
        ["refundedAfterShipping", "2026-12-01T10:00:00.000Z"],
        ["refundedBeforeShipping", null],
      ]);
    } finally {
      await upgraded.close();
    }
  });
});

describe("the migrations built into the program", () => {
  it("are drizzle/ exactly as drizzle's migrator reads it, every journal entry included", () => {
    const journal = JSON.parse(readFileSync(join(migrationsDir, "meta", "_journal.json"), "utf8"));
    const builtIn = loadMigrations();
    expect(builtIn).toHaveLength(journal.entries.length);
    expect(builtIn).toEqual(readMigrationFiles({ migrationsFolder: migrationsDir }));
  });

  /** drizzle's bookkeeping, in the order it was written. */
  const recorded = async (database: DatabaseHandle) =>
    rowsOf<{ id: unknown; hash: string; created_at: unknown }>(
      await database.db.execute(sql`select id, hash, created_at from drizzle.__drizzle_migrations order by id`),
    ).map((row) => ({ id: Number(row.id), hash: row.hash, createdAt: Number(row.created_at) }));

  /** Migrates a fresh database with drizzle's own migrate(), then with ours: nothing may be applied twice. */
  async function upgradeFromDrizzleMigrate(database: DatabaseHandle, drizzleMigrate: () => Promise<void>) {
    await drizzleMigrate();
    const before = await recorded(database);
    expect(before.map(({ hash, createdAt }) => ({ hash, folderMillis: createdAt }))).toEqual(
      loadMigrations().map(({ hash, folderMillis }) => ({ hash, folderMillis })),
    );
    await database.migrate();
    expect(await recorded(database)).toEqual(before);
  }

  it("treat an embedded database migrated by drizzle's migrate() as up to date", async () => {
    const database = openDatabase({ poolSize: 1 });
    try {
      await upgradeFromDrizzleMigrate(database, () =>
        migratePglite(database.db as unknown as PgliteDatabase, { migrationsFolder: migrationsDir }),
      );
    } finally {
      await database.close();
    }
  });

  it.skipIf(!services.databaseUrl)(
    "treat a PostgreSQL database migrated by drizzle's migrate() as up to date",
    async () => {
      const url = await freshPostgresDatabase();
      const database = openDatabase({ url, poolSize: 1 });
      const client = postgres(url, { max: 1, onnotice: () => {} });
      try {
        await upgradeFromDrizzleMigrate(database, () =>
          migratePostgres(drizzlePostgres({ client }), { migrationsFolder: migrationsDir }),
        );
      } finally {
        await client.end();
        await database.close();
      }
    },
  );
});

describe("the embedded database", () => {
  it("loads the pg_trgm extension, for the catalogue's fuzzy name search", async () => {
    const database = openDatabase({ poolSize: 1 });
    try {
      await database.db.execute(sql`create extension if not exists pg_trgm`);
      const [row] = rowsOf<{ similar: boolean; score: number }>(
        await database.db.execute(
          sql`select 'sneaker' % 'sneakers' as similar, similarity('sneaker', 'sneakers') as score`,
        ),
      );
      expect(row?.similar).toBe(true);
      expect(row?.score).toBeCloseTo(0.7, 5);
    } finally {
      await database.close();
    }
  });
});
