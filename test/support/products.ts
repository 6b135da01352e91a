import { type SQL, sql } from "drizzle-orm";
import type { NewProduct, StockLine } from "../../src/domain/catalogue/ports";
import type { StockCounts } from "../../src/domain/catalogue/product";
import { type Database, rowsOf } from "../../src/infra/db/client";
import { saleCtes } from "../../src/infra/db/repositories/product-repository";

/** Every combination of the values that matter to the rule: zero, at, below and above the threshold. */
export function statusCases(): StockCounts[] {
  const cases: StockCounts[] = [];
  for (const discontinued of [false, true])
    for (const lowStockThreshold of [0, 1, 5])
      for (const stock of [0, 1, 4, 5, 6, 100])
        for (const reservedStock of [0, 3])
          for (const soldQuantity of [0, 2])
            cases.push({ stock, reservedStock, soldQuantity, lowStockThreshold, discontinued });
  return cases;
}

/** A seller row for repository tests (no password, no login): products need an owner. */
export async function insertSeller(db: Database): Promise<string> {
  const id = Bun.randomUUIDv7();
  await db.execute(sql`insert into users (id, email, password_hash, name, role, business_registration_number)
    values (${id}, ${`seller-${id}@test.kicks`}, 'not-a-hash', 'Test Seller', 'SELLER', '124-81-00998')`);
  return id;
}

/**
 * The sale of a paid order's line, by the SQL of the payment's completion that sells it (product-repository.ts,
 * saleCtes) run on its own: `line`'s units from reserved to sold, where the product holds them reserved.
 */
export const saleOf = ({ productId, quantity }: StockLine): SQL => sql`
  with line as (select ${productId}::uuid as product_id, ${quantity}::int as quantity), ${saleCtes("line")}
  select sold.id, sold.version from sold`;

/** Sells `line` as a payment's completion does (saleOf): the product as sold, or undefined when it moved nothing. */
export async function sellReserved(
  db: Database,
  line: StockLine,
): Promise<{ id: string; version: number } | undefined> {
  const [row] = rowsOf<{ id: string; version: number }>(await db.execute(saleOf(line)));
  return row;
}

let sequence = 0;
export const newProduct = (sellerId: string, fields: Partial<NewProduct> = {}): NewProduct => ({
  id: Bun.randomUUIDv7(),
  sellerId,
  name: `Test Sneaker ${++sequence}`,
  description: null,
  brand: "Testbrand",
  category: "test",
  price: 100_000,
  stock: 10,
  lowStockThreshold: 5,
  modelCode: null,
  shoeSize: null,
  ...fields,
});

interface ApiClient {
  post: (path: string, body?: unknown, opts?: { token?: string }) => Promise<{ status: number; body: any }>;
}

/** A product put on sale through the API by the seller holding `token`. */
export async function createProductVia(t: ApiClient, token: string, fields: Record<string, unknown> = {}) {
  const res = await t.post(
    "/api/v1/products",
    { name: `Sneaker ${++sequence}`, brand: "Testbrand", category: "test", price: 100_000, stock: 20, ...fields },
    { token },
  );
  if (res.status !== 201) throw new Error(`create product failed: ${res.status} ${JSON.stringify(res.body)}`);
  return res.body as { id: string; version: number; [field: string]: unknown };
}

/** A counter's value from a /metrics text (0 when the series does not exist yet). */
export function metricValue(metricsText: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  let total = 0;
  for (const line of metricsText.split("\n")) {
    const match = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match || match[1] !== name) continue;
    const present = (match[2] ?? "").split(",");
    if (wanted.every((label) => present.includes(label))) total += Number(match[3]);
  }
  return total;
}
