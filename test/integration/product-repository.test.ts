import { describe, expect, it } from "bun:test";
import { eq, type SQL, sql } from "drizzle-orm";
import { productStatus } from "../../src/domain/catalogue/product";
import { rowsOf } from "../../src/infra/db/client";
import { DrizzleProductRepository } from "../../src/infra/db/repositories/product-repository";
import { products } from "../../src/infra/db/schema";
import { Transactions } from "../../src/infra/db/transactions";
import { openTestDatabase } from "../support/harness";
import { insertSeller, newProduct, sellReserved, statusCases } from "../support/products";

const database = openTestDatabase();
const repository = new DrizzleProductRepository(new Transactions(database.db));
const sellerId = await insertSeller(database.db);

/** The units of a product as the database holds them, with the status column it generates. */
async function countsOf(id: string) {
  const [row] = await database.db
    .select({
      stock: products.stock,
      reserved: products.reservedStock,
      sold: products.soldQuantity,
      awaiting: products.awaitingReturn,
      writtenOff: products.writtenOff,
      stocked: products.unitsStocked,
      status: products.status,
      version: products.version,
    })
    .from(products)
    .where(eq(products.id, id));
  return row!;
}

describe("the generated status column", () => {
  it("says exactly what productStatus() says, for every combination of counts", async () => {
    const cases = statusCases();
    const ids: string[] = [];
    for (const c of cases) {
      const product = await repository.insert(
        newProduct(sellerId, {
          stock: c.stock + c.reservedStock + c.soldQuantity,
          lowStockThreshold: c.lowStockThreshold,
        }),
      );
      // Move units into the reserved and sold columns through the real operations.
      if (c.reservedStock + c.soldQuantity > 0) {
        await repository.reserve({ productId: product.id, quantity: c.reservedStock + c.soldQuantity });
      }
      if (c.soldQuantity > 0) await sellReserved(database.db, { productId: product.id, quantity: c.soldQuantity });
      if (c.discontinued) await repository.discontinue(product.id);
      ids.push(product.id);
    }
    for (const [i, c] of cases.entries()) {
      const row = await countsOf(ids[i]!);
      expect({ stock: row.stock, reserved: row.reserved, sold: row.sold }).toEqual({
        stock: c.stock,
        reserved: c.reservedStock,
        sold: c.soldQuantity,
      });
      expect(row.status).toBe(productStatus(c));
    }
  });
});

describe("stock movements", () => {
  it("reserve, release, sell and restock move units between the counters and bump the version", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 10 }));
    const line = (quantity: number) => ({ productId: id, quantity });
    expect((await repository.reserve(line(4)))?.stock).toBe(6);
    expect(await countsOf(id)).toMatchObject({ stock: 6, reserved: 4, sold: 0, stocked: 10, version: 2 });
    await repository.release(line(1));
    expect(await countsOf(id)).toMatchObject({ stock: 7, reserved: 3, sold: 0, version: 3 });
    await sellReserved(database.db, line(3));
    expect(await countsOf(id)).toMatchObject({ stock: 7, reserved: 0, sold: 3, version: 4 });
    await repository.restock(line(2));
    expect(await countsOf(id)).toMatchObject({ stock: 9, reserved: 0, sold: 1, stocked: 10, version: 5 });
  });

  it("refuses a movement whose units are not there, changing nothing", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 2 }));
    expect(await repository.reserve({ productId: id, quantity: 3 })).toBeUndefined();
    expect(await repository.release({ productId: id, quantity: 1 })).toBeUndefined();
    expect(await sellReserved(database.db, { productId: id, quantity: 1 })).toBeUndefined();
    expect(await repository.restock({ productId: id, quantity: 1 })).toBeUndefined();
    expect(await countsOf(id)).toMatchObject({ stock: 2, reserved: 0, sold: 0, version: 1 });
  });

  it("never reserves a discontinued product", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 5 }));
    await repository.discontinue(id);
    expect(await repository.reserve({ productId: id, quantity: 1 })).toBeUndefined();
  });

  it("reserves exactly the stock there is when many reserve at once, never going negative", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 50 }));
    const attempts = await Promise.all(
      Array.from({ length: 120 }, () => repository.reserve({ productId: id, quantity: 1 })),
    );
    expect(attempts.filter(Boolean)).toHaveLength(50);
    expect(await countsOf(id)).toMatchObject({ stock: 0, reserved: 50, sold: 0, stocked: 50, status: "RESERVED" });
  });

  it("keeps stock + reserved + sold + awaiting return + written off = units stocked through any mix of movements and stock edits", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 30 }));
    const moves = [
      () => repository.reserve({ productId: id, quantity: 3 }),
      () => repository.release({ productId: id, quantity: 1 }),
      () => sellReserved(database.db, { productId: id, quantity: 2 }),
      () => repository.restock({ productId: id, quantity: 1 }),
      () => repository.awaitReturn({ productId: id, quantity: 1 }),
      () => repository.receiveReturn({ productId: id, resellable: 1, damaged: 0 }),
      () => repository.reserve({ productId: id, quantity: 1 }),
      () => sellReserved(database.db, { productId: id, quantity: 1 }),
      () => repository.awaitReturn({ productId: id, quantity: 1 }),
      () => repository.receiveReturn({ productId: id, resellable: 0, damaged: 1 }),
    ];
    for (let i = 0; i < 100; i++) expect(await moves[i % moves.length]!()).toBeDefined();
    const current = await countsOf(id);
    expect(current).toMatchObject({ awaiting: 0, writtenOff: 10 });
    await repository.editIfVersion(id, current.version, { stock: current.stock + 7 });
    const row = await countsOf(id);
    expect(row.stock + row.reserved + row.sold + row.awaiting + row.writtenOff).toBe(row.stocked);
    expect(row.stocked).toBe(37);
  });

  it("moves only awaited units: a return of more than is awaited changes nothing", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 5 }));
    await repository.reserve({ productId: id, quantity: 2 });
    await sellReserved(database.db, { productId: id, quantity: 2 });
    expect(await repository.awaitReturn({ productId: id, quantity: 3 })).toBeUndefined();
    expect(await repository.awaitReturn({ productId: id, quantity: 2 })).toBeDefined();
    expect(await repository.receiveReturn({ productId: id, resellable: 2, damaged: 1 })).toBeUndefined();
    expect(await countsOf(id)).toMatchObject({ stock: 3, sold: 0, awaiting: 2, writtenOff: 0, stocked: 5 });
  });

  it("has the database refuse any write that would lose or invent a unit", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { stock: 5 }));
    const write = async (statement: ReturnType<typeof sql>) => database.db.execute(statement);
    await expect(write(sql`update products set stock = stock - 1 where id = ${id}`)).rejects.toThrow();
    await expect(
      write(sql`update products set stock = -1, units_stocked = units_stocked - 6 where id = ${id}`),
    ).rejects.toThrow();
    expect(await countsOf(id)).toMatchObject({ stock: 5, stocked: 5 });
  });
});

describe("edits", () => {
  it("applies an edit only at the expected version", async () => {
    const { id } = await repository.insert(newProduct(sellerId, { price: 100_000 }));
    expect(await repository.editIfVersion(id, 2, { price: 90_000 })).toBeUndefined();
    const edited = await repository.editIfVersion(id, 1, { price: 90_000, name: "Renamed" });
    expect(edited).toMatchObject({ price: 90_000, name: "Renamed", version: 2 });
  });

  it("lets exactly one of many concurrent edits with the same version win", async () => {
    const { id } = await repository.insert(newProduct(sellerId));
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => repository.editIfVersion(id, 1, { price: 100_000 + i })),
    );
    expect(results.filter(Boolean)).toHaveLength(1);
    expect((await countsOf(id)).version).toBe(2);
  });

  it("discontinues once: a second call keeps the first date and version", async () => {
    const { id } = await repository.insert(newProduct(sellerId));
    const first = await repository.discontinue(id);
    const second = await repository.discontinue(id);
    expect(second?.discontinuedAt).toEqual(first?.discontinuedAt ?? null);
    expect(second?.version).toBe(2);
  });
});

describe("list query plans", () => {
  it.skipIf(database.kind === "embedded")("has an index that serves every sort and filter in order", async () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      newProduct(sellerId, {
        name: `${["Air", "Gel", "Boost", "Fresh", "Wave"][i % 5]} ${["Max", "Kayano", "Ultra", "Foam", "Rider"][(i * 3) % 5]} ${i}`,
        category: `plan-${i % 30}`,
        brand: `brand-${i % 40}`,
        price: 1000 + ((i * 7919) % 500000),
      }),
    );
    await database.db.insert(products).values(many.map((p) => ({ ...p, unitsStocked: p.stock })));
    await database.db.execute(sql`analyze products`);
    const plans: Record<string, string> = {};
    const queries = {
      newest: sql`select id from products order by created_at desc, id desc limit 21`,
      price_asc: sql`select id from products order by price, id limit 21`,
      price_desc: sql`select id from products order by price desc, id desc limit 21`,
      popular: sql`select id from products join product_popularity on product_id = id
        order by product_popularity.sold_quantity desc, product_id desc limit 21`,
      category_newest: sql`select id from products where category_key = 'plan-3' order by created_at desc, id desc limit 21`,
      category_price: sql`select id from products where category_key = 'plan-3' order by price, id limit 21`,
      brand_newest: sql`select id from products where brand_key = 'brand-3' order by created_at desc, id desc limit 21`,
      brand_price: sql`select id from products where brand_key = 'brand-3' order by price desc, id desc limit 21`,
      status_newest: sql`select id from products where status = 'AVAILABLE' order by created_at desc, id desc limit 21`,
      price_range: sql`select id from products where price between 100000 and 200000 order by price, id limit 21`,
      keyset_price: sql`select id from products where (price, id) > (250000, '00000000-0000-0000-0000-000000000000'::uuid) order by price, id limit 21`,
      search: sql`select id from products where name ilike '%ultra 1234%'`,
    };
    // A table this small is cheaper to scan (and to sort); with those priced out, the plan shows whether an
    // index can serve the query at all, and in order with no Sort step, which is what matters at any size.
    await database.db.transaction(async (tx) => {
      await tx.execute(sql`set local enable_seqscan = off`);
      for (const [name, query] of Object.entries(queries)) {
        // Trigram indexes are only read as bitmaps; the ordered ones should be walked in order.
        await tx.execute(
          name === "search" ? sql`set local enable_bitmapscan = on` : sql`set local enable_bitmapscan = off`,
        );
        const rows = rowsOf<{ "QUERY PLAN": string }>(await tx.execute(sql`explain ${query}`));
        plans[name] = rows.map((row) => row["QUERY PLAN"]).join("\n");
      }
    });
    for (const [name, plan] of Object.entries(plans)) {
      expect({ name, usesIndex: /Index|Bitmap/.test(plan) && !/Seq Scan/.test(plan) }).toEqual({
        name,
        usesIndex: true,
      });
      if (name !== "search") expect({ name, sorts: /Sort\b/.test(plan) }).toEqual({ name, sorts: false });
    }
  });
});

describe("the popular list's plan", () => {
  // `sort=popular` walks product_popularity_rank and looks each product up by id (schema/products.ts says why
  // the order is not an index of products any more): on a catalogue of thousands, with the planner's own choices
  // (nothing disabled), a page reads a page's worth of the index, not the catalogue, and sorts nothing.
  it.skipIf(database.kind === "embedded")("walks the popularity index and stops after one page", async () => {
    await database.db.execute(sql`insert into products (id, seller_id, name, brand, category, price, stock,
        sold_quantity, units_stocked)
      select gen_random_uuid(), ${sellerId}, 'Ranked Sneaker ' || n, 'Rankbrand', 'ranked-plan', 10000, 5,
        n % 97, 5 + n % 97
      from generate_series(1, 5000) as n`);
    await database.db.execute(sql`analyze products`);
    await database.db.execute(sql`analyze product_popularity`);
    const page = (after: SQL) => sql`select products.id from products
      join product_popularity on product_popularity.product_id = products.id
      where products.status <> 'DISCONTINUED' and ${after}
      order by product_popularity.sold_quantity desc, product_popularity.product_id desc limit 21`;
    type PlanNode = { "Node Type": string; "Index Name"?: string; "Actual Rows": number; Plans?: PlanNode[] };
    const nodes = (plan: PlanNode): PlanNode[] => [plan, ...(plan.Plans ?? []).flatMap(nodes)];
    for (const after of [
      sql`true`,
      sql`(product_popularity.sold_quantity, product_popularity.product_id) < (50, 'ffffffff-ffff-ffff-ffff-ffffffffffff'::uuid)`,
    ]) {
      const [row] = rowsOf<{ "QUERY PLAN": [{ Plan: PlanNode }] }>(
        await database.db.execute(sql`explain (analyze, format json) ${page(after)}`),
      );
      const plan = nodes((row as { "QUERY PLAN": [{ Plan: PlanNode }] })["QUERY PLAN"][0].Plan);
      const walk = plan.find((node) => node["Index Name"] === "product_popularity_rank");
      // An index-only scan when the visibility map allows (the index holds both columns it needs).
      expect({
        walks: /^Index (Only )?Scan$/.test(walk?.["Node Type"] ?? ""),
        sorts: plan.some((node) => /Sort/.test(node["Node Type"])),
      }).toEqual({ walks: true, sorts: false });
      expect(walk?.["Actual Rows"]).toBeLessThanOrEqual(21);
      expect(plan.some((node) => node["Node Type"] === "Seq Scan")).toBe(false);
    }
  });
});
