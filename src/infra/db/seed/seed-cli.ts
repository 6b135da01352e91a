// `bun run seed [--products N] [--orders N]`: fills the configured database (DATABASE_URL, or the embedded one
// in DATA_DIR) with a realistic sneaker catalogue, and paid orders over the last 30 days, for demos and
// benchmarks. Each part is seeded once (it checks for its sellers, and its buyers).
import { parseArgs } from "node:util";
import { count, isNull, like, sql } from "drizzle-orm";
import { argon2Passwords } from "../../auth/passwords";
import { ConfigError, loadConfig } from "../../config";
import { openDatabase } from "../client";
import { balances, products, users } from "../schema";
import { catalogueProducts, SIZE_RUN_MODELS } from "./catalogue";
import { SEED_BUYER_EMAILS, SEED_BUYERS, seedPaidOrders } from "./sales";

const SELLERS = 20;
const BATCH = 1000;
export const SEED_SELLER_EMAIL = (n: number) => `seed-seller-${String(n).padStart(2, "0")}@seed.kicks`;

const { values } = parseArgs({
  options: { products: { type: "string", default: "10000" }, orders: { type: "string", default: "0" } },
});
const productCount = Number(values.products);
const orderCount = Number(values.orders);
for (const [name, value, max] of [
  ["products", productCount, 1_000_000],
  ["orders", orderCount, 10_000_000],
] as const) {
  if (!Number.isSafeInteger(value) || value < 0 || value > max) {
    console.error(`--${name} must be a whole number from 0 to ${max}`);
    process.exit(1);
  }
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  console.error(error instanceof ConfigError ? error.message : error);
  process.exit(1);
}
const database = openDatabase({
  url: config.DATABASE_URL,
  poolSize: 2,
  dataDir: config.DATA_DIR,
  migrationsDir: config.MIGRATIONS_DIR,
});
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
    for (const table of ["orders", "order_items", "payments", "product_sales_daily", "products"]) {
      await db.execute(sql.raw(`vacuum analyze ${table}`));
    }
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    console.log(`seeded ${orderCount} paid orders (${lines} order lines) over 30 days in ${seconds} s`);
    console.log(
      `buyers log in as seed-buyer-0001@seed.kicks … seed-buyer-${SEED_BUYERS}@seed.kicks, password seed-buyer-password`,
    );
  }
}
await database.close();
