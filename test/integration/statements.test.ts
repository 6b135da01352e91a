import { describe, expect, it } from "bun:test";
import { and, DrizzleQueryError, eq, sql } from "drizzle-orm";
import { rowsOf } from "../../src/infra/db/client";
import { fromRow } from "../../src/infra/db/rows";
import { idempotencyKeys, orderItems, orders, products, users } from "../../src/infra/db/schema";
import { type Slots, SqlStatement, Statement } from "../../src/infra/db/statements";
import { Transactions } from "../../src/infra/db/transactions";
import { sqlState } from "../../src/infra/dependency-errors";
import { openTestDatabase } from "../support/harness";
import { insertSeller, newProduct } from "../support/products";
import { countingDatabase } from "../support/query-counter";

// Statements built once (src/infra/db/statements.ts), on whichever driver this run uses (PostgreSQL with
// DATABASE_URL, embedded PGlite without): rows mapped exactly as drizzle's own builder maps them, SQL built
// once however many sessions run it, and every run on the transaction or savepoint that is open, never the pool.
const database = openTestDatabase();
const db = database.db;
const transactions = new Transactions(db, database.sessionIsolation);

class Rollback extends Error {}

async function aProduct() {
  const sellerId = await insertSeller(db);
  const [row] = await db
    .insert(products)
    .values({ ...newProduct(sellerId, { price: 123_456, stock: 7 }), unitsStocked: 7 })
    .returning();
  return row as typeof products.$inferSelect;
}

const writes = { productById: 0 };
const productById = new Statement("test_product_by_id", transactions, (current, $: Slots<{ id: string }>) => {
  writes.productById++;
  return current.select().from(products).where(eq(products.id, $.id));
});

const addStock = new SqlStatement<{ id: string; units: number }>(
  "test_add_stock",
  transactions,
  ($) =>
    sql`update ${products} set stock = stock + ${$.units}, units_stocked = units_stocked + ${$.units}, version = version + 1 where id = ${$.id} returning *`,
);

describe("a statement built once", () => {
  it("maps a builder's rows exactly as drizzle does (int8 as numbers, timestamps as dates)", async () => {
    const product = await aProduct();
    const [row] = await productById.run({ id: product.id });
    expect(row).toEqual(product);
    expect(row?.createdAt).toBeInstanceOf(Date);
    expect(typeof row?.price).toBe("number");
    expect(await productById.run({ id: Bun.randomUUIDv7() })).toEqual([]);
  });

  // Rolled back at the end: an order whose units were never reserved must not outlive the test (the expiry job
  // and the invariants of other files would meet it).
  it("maps a relational query (an order with its lines, as nested JSON) exactly as drizzle does", async () => {
    const product = await aProduct();
    const orderById = new Statement("test_order_by_id", transactions, (current, $: Slots<{ id: string }>) =>
      current.query.orders.findFirst({ where: eq(orders.id, $.id), with: { items: true } }),
    );
    const rolledBack = transactions.withTransaction(async (tx) => {
      const [buyer] = rowsOf<{ id: string }>(
        await tx.execute(sql`insert into users (id, email, password_hash, name, role)
          values (${Bun.randomUUIDv7()}, ${`buyer-${crypto.randomUUID()}@test.kicks`}, 'x', 'Buyer', 'BUYER') returning id`),
      );
      const orderId = Bun.randomUUIDv7();
      await tx.insert(orders).values({
        id: orderId,
        userId: buyer?.id as string,
        subtotal: 246_912,
        discountAmount: 0,
        totalAmount: 246_912,
        expiresAt: new Date(Date.now() + 60_000),
      });
      await tx.insert(orderItems).values({
        id: Bun.randomUUIDv7(),
        orderId,
        productId: product.id,
        sellerId: product.sellerId,
        productName: product.name,
        category: product.category,
        unitPrice: product.price,
        quantity: 2,
        lineTotal: 246_912,
      });
      const expected = await tx.query.orders.findFirst({ where: eq(orders.id, orderId), with: { items: true } });
      expect(expected?.items[0]?.unitPrice).toBe(123_456);
      expect(await orderById.run({ id: orderId })).toEqual(expected);
      throw new Rollback();
    });
    await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
  });

  it("encodes a placeholder's value with its column's encoder (jsonb) and maps RETURNING rows", async () => {
    const claim = new Statement(
      "test_idempotency_insert",
      transactions,
      (current, $: Slots<{ key: string; headers: Record<string, string> }>) =>
        current
          .insert(idempotencyKeys)
          .values({
            scope: "statements-test",
            method: "POST",
            path: "/test",
            key: $.key,
            requestHash: "h",
            responseHeaders: $.headers,
            expiresAt: sql`now() + interval '1 hour'`,
          })
          .returning(),
    );
    const key = crypto.randomUUID();
    // Rolled back at the end: nothing of it is left for other files to meet.
    const rolledBack = transactions.withTransaction(async (tx) => {
      const [row] = await claim.run({ key, headers: { "content-type": "application/json" } });
      expect(row?.responseHeaders).toEqual({ "content-type": "application/json" });
      const [read] = await tx.select().from(idempotencyKeys).where(eq(idempotencyKeys.key, key));
      expect(row).toEqual(read);
      throw new Rollback();
    });
    await expect(rolledBack).rejects.toBeInstanceOf(Rollback);
  });

  // On postgres.js the rows are mapped by statements.ts's own mapper (each field's decoder found once), not by
  // drizzle's mapResultRow: a left join's missing row must still come back as null, `sql` fields decoded as drizzle.
  it("maps a left join and sql fields exactly as drizzle does (a missing joined row is null)", async () => {
    const product = await aProduct();
    const write = (current: typeof db, $: Slots<{ id: string; sellerId: string }>) =>
      current
        .select({
          id: products.id,
          shout: sql<string>`upper(${products.name})`,
          twice: sql<number>`${products.stock} * 2`.mapWith(Number),
          seller: { id: users.id, createdAt: users.createdAt },
        })
        .from(products)
        .leftJoin(users, and(eq(users.id, products.sellerId), eq(users.id, $.sellerId)))
        .where(eq(products.id, $.id));
    const joined = new Statement("test_product_left_join", transactions, write);
    for (const sellerId of [product.sellerId, Bun.randomUUIDv7()]) {
      const expected = await write(db, { id: sql.placeholder("id"), sellerId: sql.placeholder("sellerId") } as never)
        .prepare("test_product_left_join_drizzle")
        .execute({ id: product.id, sellerId });
      const rows = await joined.run({ id: product.id, sellerId });
      expect(rows).toEqual(expected);
      expect(rows[0]?.twice).toBe(14);
      if (sellerId === product.sellerId) expect(rows[0]?.seller?.createdAt).toBeInstanceOf(Date);
      else expect(rows[0]?.seller).toBeNull();
    }
  });

  it("fails as drizzle's own queries fail: a DrizzleQueryError with the driver's error (its SQLSTATE) as cause", async () => {
    const divide = new SqlStatement<{ by: number }>(
      "test_divide",
      transactions,
      ($) => sql`select 1 / ${$.by}::int as q`,
    );
    const error = await divide.run({ by: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DrizzleQueryError);
    expect(sqlState(error)).toBe("22012");
    expect((error as DrizzleQueryError).query).toBe(divide.text());
    expect((error as DrizzleQueryError).params).toEqual([0]);
  });

  it("is logged to the database's drizzle logger, as drizzle's own queries are (tests count statements with it)", async () => {
    const product = await aProduct();
    const counting = countingDatabase(database);
    const counted = new Transactions(counting.database.db, database.sessionIsolation);
    const byId = new Statement("test_product_by_id_counted", counted, (current, $: Slots<{ id: string }>) =>
      current.select().from(products).where(eq(products.id, $.id)),
    );
    expect((await counting.count(() => byId.run({ id: product.id }))).statements).toBe(1);
    const inTransaction = await counting.count(() =>
      counted.withTransaction(async () => {
        await byId.run({ id: product.id });
        await counted.withTransaction(() => byId.run({ id: product.id }));
      }),
    );
    // postgres.js: BEGIN, SAVEPOINT and COMMIT are the driver's own, never logged by drizzle; PGlite: drizzle's
    // transaction sends three of its own through its session (logged), so 2 + 3.
    expect(inTransaction.statements).toBe(database.kind === "postgres" ? 2 : 5);
  });

  it("gives a sql template's rows as the driver returns them, which fromRow maps as drizzle does", async () => {
    const product = await aProduct();
    const [row] = await addStock.run({ id: product.id, units: 3 });
    const [read] = await db.select().from(products).where(eq(products.id, product.id));
    expect(fromRow(products, row as Record<string, unknown>)).toEqual(read as typeof products.$inferSelect);
    expect(read?.stock).toBe(10);
  });

  it("builds its SQL once, however many runs and sessions (pool, transactions, savepoints) run it", async () => {
    const product = await aProduct();
    const before = writes.productById;
    for (let i = 0; i < 3; i++) await productById.run({ id: product.id });
    await transactions.withTransaction(async () => {
      await productById.run({ id: product.id });
      await transactions.withTransaction(() => productById.run({ id: product.id }));
    });
    // Built on the first run of the file at most: none of these five runs built it again.
    expect(writes.productById - before).toBe(before === 0 ? 1 : 0);
    expect(productById.text()).toContain("$1");
  });
});

describe("a statement built once, inside a transaction", () => {
  it("runs on the transaction: its write is rolled back with it", async () => {
    const product = await aProduct();
    await expect(
      transactions.withTransaction(async () => {
        await addStock.run({ id: product.id, units: 5 });
        // It sees its own transaction's write (read on the same session)...
        expect((await productById.run({ id: product.id }))[0]?.stock).toBe(12);
        throw new Rollback();
      }),
    ).rejects.toBeInstanceOf(Rollback);
    // ...which the rollback undid: it never ran on the pool.
    expect((await productById.run({ id: product.id }))[0]?.stock).toBe(7);
  });

  it("runs on a savepoint: its write is undone with the savepoint, the transaction's own stays", async () => {
    const product = await aProduct();
    await transactions.withTransaction(async () => {
      await addStock.run({ id: product.id, units: 1 });
      await expect(
        transactions.withTransaction(async () => {
          await addStock.run({ id: product.id, units: 100 });
          expect((await productById.run({ id: product.id }))[0]?.stock).toBe(108);
          throw new Rollback();
        }),
      ).rejects.toBeInstanceOf(Rollback);
      expect((await productById.run({ id: product.id }))[0]?.stock).toBe(8);
    });
    expect((await productById.run({ id: product.id }))[0]?.stock).toBe(8);
  });

  // Embedded PGlite has one session: a query outside the open transaction waits for it (no pool to ask).
  it.skipIf(database.kind !== "postgres")("is not seen outside the transaction before it commits", async () => {
    const product = await aProduct();
    let outside: number | undefined;
    await transactions.withTransaction(async () => {
      await addStock.run({ id: product.id, units: 2 });
      // The pool's connection (another session) still sees the committed row.
      const [row] = await db.select().from(products).where(eq(products.id, product.id));
      outside = row?.stock;
    });
    expect(outside).toBe(7);
    expect((await productById.run({ id: product.id }))[0]?.stock).toBe(9);
  });

  it.skipIf(database.kind !== "postgres")("is a named prepared statement of the transaction's connection", async () => {
    const product = await aProduct();
    await transactions.withTransaction(async (tx) => {
      await productById.run({ id: product.id });
      await productById.run({ id: product.id });
      const prepared = rowsOf<{ n: number }>(
        await tx.execute(
          sql`select count(*)::int as n from pg_prepared_statements where statement = ${productById.text()}`,
        ),
      );
      expect(prepared[0]?.n).toBe(1);
    });
  });
});
