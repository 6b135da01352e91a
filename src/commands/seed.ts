// `bun run seed [--products N] [--orders N] [--no-demo]` (`--help` says the same): fills the configured database
// (DATABASE_URL, or the embedded one in DATA_DIR) with a realistic sneaker catalogue, paid orders over the last
// 30 days (for benchmarks), and a small demo shop to log in to (demo-shop.ts). Each part is seeded once (it checks
// for its sellers, its buyers, its admin).
import { parseArgs } from "node:util";
import { and, count, eq, isNull, like, sql } from "drizzle-orm";
import { createApp } from "../app";
import { buildContainer } from "../container";
import { argon2Passwords } from "../infra/auth/passwords";
import { loadConfig } from "../infra/config";
import { balances, products, users } from "../infra/db/schema";
import { catalogueProducts, SIZE_RUN_MODELS } from "../infra/db/seed/catalogue";
import { describeDemoLogins, seedDemoShop } from "../infra/db/seed/demo-shop";
import { SEED_BUYER_EMAILS, SEED_BUYERS, seedPaidOrders } from "../infra/db/seed/sales";
import { createLogger } from "../infra/logger";
import { failCommand, UsageError } from "./command";

const SELLERS = 20;
const BATCH = 1000;
export const SEED_SELLER_EMAIL = (n: number) => `seed-seller-${String(n).padStart(2, "0")}@seed.kicks`;

const USAGE = `Usage: bun run seed [options]

Fills the configured database (DATABASE_URL, or the embedded one in DATA_DIR; stop an embedded server first)
with demo data. Each part is added once; running it again adds nothing.

Options:
  --products N   a catalogue of N sneakers from 20 sellers (default 10000; 0: none)
  --orders N     N paid orders over the last 30 days from 1,000 buyers, for statistics (default 0)
  --no-demo      leave out the demo shop: an admin, 2 sellers, 3 buyers with charged balances, 2 coupons
                 (one limited) and orders paid, shipped, completed and refunded; it prints their logins
  -h, --help     print this help and exit`;

let values: { products: string; orders: string; "no-demo"?: boolean; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      products: { type: "string", default: "10000" },
      orders: { type: "string", default: "0" },
      "no-demo": { type: "boolean" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  failCommand(new UsageError(`seed: ${(error as Error).message}\n\n${USAGE}`), 1);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const productCount = Number(values.products);
const orderCount = Number(values.orders);
for (const [name, value, max] of [
  ["products", productCount, 1_000_000],
  ["orders", orderCount, 10_000_000],
] as const) {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    failCommand(new UsageError(`--${name} must be a whole number from 0 to ${max}`), 1);
  }
}

let container: ReturnType<typeof buildContainer>;
try {
  const config = loadConfig();
  // Warnings only: the demo shop's requests would each log a line.
  container = buildContainer(config, createLogger("warn"));
} catch (error) {
  failCommand(error, 1);
}
const { database } = container;
await database.migrate();
const { db } = database;

const [seeded] = await db.select({ n: count() }).from(users).where(like(users.email, "seed-seller-%@seed.kicks"));
if ((seeded?.n ?? 0) > 0) {
  console.log(`already seeded (${seeded?.n} seed sellers exist); nothing to do`);
} else {
  const started = performance.now();
  // Every seed seller can log in with this password (printed below): they are demo accounts.
  const passwordHash = await argon2Passwords.hash("seed-seller-password");
  const sellerIds = Array.from({ length: SELLERS }, () => Bun.randomUUIDv7());
  await db.transaction(async (tx) => {
    await tx.insert(users).values(
      sellerIds.map((id, i) => ({
        id,
        email: SEED_SELLER_EMAIL(i + 1),
        passwordHash,
        name: `Seed Seller ${i + 1}`,
        role: "SELLER" as const,
        businessRegistrationNumber: "124-81-00998",
      })),
    );
    await tx.insert(balances).values(sellerIds.map((userId) => ({ userId })));
    let batch: (typeof products.$inferInsert)[] = [];
    for (const { discontinued, ...product } of catalogueProducts(productCount, sellerIds, () => Bun.randomUUIDv7())) {
      batch.push({ ...product, unitsStocked: product.stock, discontinuedAt: discontinued ? new Date() : null });
      if (batch.length === BATCH) {
        await tx.insert(products).values(batch);
        batch = [];
      }
    }
    if (batch.length > 0) await tx.insert(products).values(batch);
  });
  // Fresh statistics, and a visibility map so that counting a filtered list can be an index-only scan.
  await db.execute(sql`vacuum analyze products`);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`seeded ${SELLERS} sellers and ${productCount} products in ${seconds} s`);
  console.log(
    `models in sizes (GET /api/v1/models/{modelCode}, complete from 1,000 products): ${SIZE_RUN_MODELS.map(([code]) => code).join(", ")}`,
  );
  console.log(
    `sellers log in as ${SEED_SELLER_EMAIL(1)} … ${SEED_SELLER_EMAIL(SELLERS)}, password seed-seller-password`,
  );
}
if (orderCount > 0) {
  const [buyers] = await db.select({ n: count() }).from(users).where(like(users.email, SEED_BUYER_EMAILS));
  const [onSale] = await db.select({ n: count() }).from(products).where(isNull(products.discontinuedAt));
  if ((buyers?.n ?? 0) > 0) {
    console.log(`orders already seeded (${buyers?.n} seed buyers exist); nothing to do`);
  } else if ((onSale?.n ?? 0) === 0) {
    console.error("no product is on sale to order: seed a catalogue first (--products N)");
    process.exitCode = 1;
  } else {
    const started = performance.now();
    const lines = await seedPaidOrders(db, orderCount, await argon2Passwords.hash("seed-buyer-password"));
    for (const table of [
      "orders",
      "order_items",
      "payments",
      "product_sales_daily",
      "products",
      "product_popularity",
    ]) {
      await db.execute(sql.raw(`vacuum analyze ${table}`));
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`seeded ${orderCount} paid orders (${lines} order lines) over 30 days in ${seconds} s`);
    console.log(
      `buyers log in as seed-buyer-0001@seed.kicks … seed-buyer-${SEED_BUYERS}@seed.kicks, password seed-buyer-password`,
    );
  }
}
/** Whether the demo shop's admin exists: the demo shop was made in full by an earlier run. */
async function adminExists(email: string): Promise<boolean> {
  const [admins] = await db
    .select({ n: count() })
    .from(users)
    .where(and(eq(users.email, email), eq(users.role, "ADMIN")));
  return admins?.n === 1;
}

if (!values["no-demo"]) {
  const started = performance.now();
  try {
    const made = await seedDemoShop(createApp(container), {
      adminExists,
      ensureAdmin: (email, password) => container.services.users.ensureAdmin(email, password),
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(made ? `seeded the demo shop in ${seconds} s` : "demo shop already seeded; nothing to do");
    console.log(describeDemoLogins());
  } catch (error) {
    console.error((error as Error).message);
    process.exitCode = 1;
  }
}
await container.close();
