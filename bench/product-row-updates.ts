// `bun bench/product-row-updates.ts`: what PostgreSQL's backend spends on a checkout's two updates of a product row
// (the reservation, then the sale), and nothing else: the statements go straight through postgres.js (prepared),
// one transaction per checkout as the app commits them (reservation with the order, sale with the payment), and the
// figure is the utime + stime of the one backend that ran them (/proc/<pid>/stat), so the noise of the app, the
// other tables and a busy machine's other processes stays out of it (commits do not wait for their WAL flush).
// Also printed: the share of HOT updates and the size of the table and its indexes after the run (bloat). Measures schema changes to `products` (its
// indexes, fillfactor, triggers) on the real schema, migrated into a throwaway database.
//
// Needs DATABASE_URL, and PostgreSQL on this machine.
// Environment:
//   ROW_UPDATES_CHECKOUTS (5000)  measured checkouts (after 500 unmeasured)
//   ROW_UPDATES_PRODUCTS (1000)   products in the table
//   ROW_UPDATES_HOT (1)           1: every checkout updates the first product (a drop), 0: round the catalogue
//   ROW_UPDATES_AFTER_MIGRATE     SQL run after the migrations (an experiment: `drop index products_popular`)
import { readFileSync } from "node:fs";
import postgres from "postgres";
import { openDatabase } from "../src/infra/db/client";
import { envInt } from "./config";
import { runAdminStatement, withDatabase } from "./environment";

const CHECKOUTS = envInt("ROW_UPDATES_CHECKOUTS", 5000, 1, 10_000_000);
const PRODUCTS = envInt("ROW_UPDATES_PRODUCTS", 1000, 1, 1_000_000);
const HOT = process.env.ROW_UPDATES_HOT !== "0";
const WARMUP = 500;

const adminUrl = process.env.DATABASE_URL;
if (!adminUrl) {
  console.error("needs DATABASE_URL");
  process.exit(2);
}
const databaseName = `kicks_rows_${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
const databaseUrl = withDatabase(adminUrl, databaseName);
await runAdminStatement(adminUrl, `create database ${databaseName}`);
try {
  await measure();
} finally {
  await runAdminStatement(adminUrl, `drop database if exists ${databaseName} with (force)`);
}

async function measure() {
  const database = openDatabase({ url: databaseUrl, poolSize: 1 });
  await database.migrate();
  await database.close();
  const experiment = process.env.ROW_UPDATES_AFTER_MIGRATE;
  if (experiment) await runAdminStatement(databaseUrl, experiment);
  // Commits without waiting for their WAL flush: the flush is the same whatever the schema, and on a shared
  // machine its system time (fdatasync behind other processes' writes) is most of the noise.
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {}, connection: { synchronous_commit: "off" } });
  try {
    const seller = crypto.randomUUID();
    await sql`insert into users (id, email, password_hash, name, role, business_registration_number)
      values (${seller}, ${`${seller}@bench.kicks`}, 'x', 'Bench seller', 'SELLER', '124-81-00998')`;
    await sql`insert into products (id, seller_id, name, brand, category, price, stock, units_stocked)
      select gen_random_uuid(), ${seller}, 'Bench Sneaker ' || i || ' Air Max Ultra', 'Bench', 'bench-' || (i % 30),
        1000, 10000000, 10000000
      from generate_series(1, ${PRODUCTS}) i`;
    await sql`vacuum analyze products`;
    const ids = (await sql<{ id: string }[]>`select id from products order by created_at, id`).map((r) => r.id);
    const pid = (await sql<{ pid: number }[]>`select pg_backend_pid() as pid`)[0]?.pid as number;
    let n = 0;
    const checkout = async () => {
      const id = (HOT ? ids[0] : ids[n++ % ids.length]) as string;
      // The same counters order_place's reservation and payment_complete's sale move, one commit each.
      await sql`update products set stock = stock - 1, reserved_stock = reserved_stock + 1,
        version = version + 1, updated_at = now() where id = ${id} and stock >= 1`;
      await sql`update products set reserved_stock = reserved_stock - 1, sold_quantity = sold_quantity + 1,
        version = version + 1, updated_at = now() where id = ${id} and reserved_stock >= 1`;
    };
    for (let i = 0; i < WARMUP; i++) await checkout();
    const before = ticks(pid);
    const hotBefore = await cumulative(sql);
    for (let i = 0; i < CHECKOUTS; i++) await checkout();
    const after = ticks(pid);
    const hotAfter = await cumulative(sql);
    const hz = Number(Bun.spawnSync(["getconf", "CLK_TCK"]).stdout.toString().trim()) || 100;
    const us = (t: number) => ((t * 1_000_000) / hz / CHECKOUTS).toFixed(1);
    const size = (
      await sql<{ heap: string; indexes: string }[]>`select pg_relation_size('products') as heap,
      pg_indexes_size('products') as indexes`
    )[0];
    console.log(
      `${HOT ? "one hot product" : "round the catalogue"} of ${PRODUCTS}, ${CHECKOUTS} checkouts (2 updates each): backend CPU per checkout ${us(after.user + after.system - before.user - before.system)} µs (user ${us(after.user - before.user)}, system ${us(after.system - before.system)}); HOT ${((100 * (hotAfter.hot - hotBefore.hot)) / (hotAfter.upd - hotBefore.upd)).toFixed(0)}% of ${hotAfter.upd - hotBefore.upd} updates; products heap ${size?.heap} B, indexes ${size?.indexes} B`,
    );
  } finally {
    await sql.end({ timeout: 5 });
  }
}

function ticks(pid: number) {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { user: Number(fields[11]), system: Number(fields[12]) };
}

async function cumulative(sql: postgres.Sql) {
  await sql`select pg_stat_force_next_flush()`;
  await Bun.sleep(50);
  await sql`select pg_stat_clear_snapshot()`;
  const [row] = await sql<{ upd: string; hot: string }[]>`select n_tup_upd as upd, n_tup_hot_upd as hot
    from pg_stat_user_tables where relname = 'products'`;
  return { upd: Number(row?.upd), hot: Number(row?.hot) };
}
