import { afterAll, describe, expect, it } from "bun:test";
import { sql } from "drizzle-orm";
import type { Order } from "../../src/domain/orders/order";
import { salesOfPayment } from "../../src/domain/sales/sales-deltas";
import { addDays, seoulDay, weekStart } from "../../src/domain/sales/seoul-days";
import { checkInvariants } from "../../src/infra/db/invariants";
import { DrizzleSalesRepository } from "../../src/infra/db/repositories/sales-repository";
import { Transactions } from "../../src/infra/db/transactions";
import { createTestApp, isolatedDatabase, testEnv } from "../support/harness";
import { invariantViolations, payOrder, placeOrder } from "../support/orders";
import { createProductVia, metricValue } from "../support/products";

const database = await isolatedDatabase();
const env = { REDIS_KEY_PREFIX: `${testEnv().REDIS_KEY_PREFIX ?? ""}stats-${crypto.randomUUID()}:` };
const t = await createTestApp({ database, env });
afterAll(() => t.close());

const [first, second, admin, buyer] = await Promise.all([
  t.registerUser("SELLER"),
  t.registerUser("SELLER"),
  t.registerUser("ADMIN"),
  t.registerUser("BUYER"),
]);
type Who = typeof buyer;
const a1 = await createProductVia(t, first!.token, { price: 10_000, stock: 100, category: "Running" });
const a2 = await createProductVia(t, first!.token, { price: 20_000, stock: 100, category: "Court" });
const b1 = await createProductVia(t, second!.token, { price: 5_000, stock: 100, category: "Running" });

const order = (items: [{ id: string }, number][]) =>
  placeOrder(
    t,
    buyer!.token,
    buyer!.user.id,
    items.map(([product, quantity]) => ({ productId: product.id, quantity })),
  );
async function paid(items: [{ id: string }, number][]) {
  const placed = await order(items);
  await payOrder(t, buyer!, placed.id);
  return placed;
}
// Paid: 45,000 over both sellers and categories; 10,000; 15,000; 15,000 less a refund of 3,000.
await paid([
  [a1, 2],
  [a2, 1],
  [b1, 1],
]);
await paid([[a1, 1]]);
await paid([[b1, 3]]);
const partlyRefunded = await paid([
  [a1, 1],
  [b1, 1],
]);
expect(
  (await t.post("/api/v1/refunds", { orderId: partlyRefunded.id, amount: 3_000, reason: "late" }, buyer!)).status,
).toBe(201);
// Not counted: unpaid, and paid then cancelled (refunded in full).
await order([[a2, 1]]);
const cancelled = await paid([[a2, 2]]);
expect((await t.put(`/api/v1/orders/${cancelled.id}/cancel`, undefined, buyer!)).status).toBe(200);

const today = seoulDay(new Date());
const stats = (query: string, who: Who = admin!) => t.get(`/api/v1/stats/sales${query}`, who);
const row = (key: string, orderCount: number, quantity: number, salesAmount: number) => ({
  key,
  orderCount,
  quantity,
  salesAmount,
});

describe("GET /api/v1/stats/sales", () => {
  it("adds up every paid, not refunded sale per day over the last 30 Seoul days by default", async () => {
    const res = await stats("");
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ from: addDays(today, -29), to: today, groupBy: "day" });
    expect(res.body.items).toHaveLength(30);
    expect(res.body.items.at(-1)).toEqual(row(today, 4, 10, 82_000));
    expect(res.body.items.slice(0, -1).every((i: any) => i.orderCount === 0 && i.salesAmount === 0)).toBe(true);
  });

  it("groups by category, product and seller, counting each order once per group", async () => {
    expect((await stats("?groupBy=category")).body.items).toEqual([
      row("Running", 4, 9, 62_000),
      row("Court", 1, 1, 20_000),
    ]);
    expect((await stats("?groupBy=product")).body.items).toEqual([
      row(a1.id, 3, 4, 38_000),
      row(b1.id, 3, 5, 24_000),
      row(a2.id, 1, 1, 20_000),
    ]);
    expect((await stats("?groupBy=seller")).body.items).toEqual([
      row(first!.user.id, 3, 5, 58_000),
      row(second!.user.id, 3, 5, 24_000),
    ]);
  });

  it("shows a seller its own products only", async () => {
    const mine = (groupBy: string) => stats(`?groupBy=${groupBy}&from=${today}&to=${today}`, first!);
    expect((await mine("day")).body.items).toEqual([row(today, 3, 5, 58_000)]);
    expect((await mine("category")).body.items).toEqual([row("Running", 3, 4, 38_000), row("Court", 1, 1, 20_000)]);
    expect((await mine("product")).body.items).toEqual([row(a1.id, 3, 4, 38_000), row(a2.id, 1, 1, 20_000)]);
    expect((await mine("seller")).body.items).toEqual([row(first!.user.id, 3, 5, 58_000)]);
  });

  it("rolls days up into weeks (from Monday) and months, every period of the range listed", async () => {
    const from = addDays(today, -20);
    const weeks = (await stats(`?groupBy=week&from=${from}&to=${today}`)).body.items;
    expect(weeks[0].key).toBe(weekStart(from));
    expect(weeks.at(-1)).toEqual(row(weekStart(today), 4, 10, 82_000));
    expect(new Set(weeks.map((w: any) => w.key)).size).toBe(weeks.length);
    const months = (await stats(`?groupBy=month&from=${from}&to=${today}`)).body.items;
    expect(months.at(-1)).toEqual(row(`${today.slice(0, 7)}-01`, 4, 10, 82_000));
  });

  it("answers a range that is reversed, too long or not a date, or an unknown grouping, with 400 and the path", async () => {
    const cases: [string, string][] = [
      [`?from=${today}&to=${addDays(today, -1)}`, "query.from"],
      [`?from=${addDays(today, -400)}&to=${today}`, "query.to"],
      ["?from=2026-02-30", "query.from"],
      ["?to=2026-13-01", "query.to"],
      ["?from=yesterday", "query.from"],
      ["?groupBy=year", "query.groupBy"],
    ];
    for (const [query, path] of cases) {
      const res = await stats(query);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe("VALIDATION_FAILED");
      expect(res.body.errors.map((e: any) => e.path)).toContain(path);
    }
  });

  it("takes a range from `from` alone (30 days, not past today)", async () => {
    const res = await stats(`?from=${addDays(today, -3)}`);
    expect(res.body).toMatchObject({ from: addDays(today, -3), to: today });
    expect(res.body.items).toHaveLength(4);
  });

  it("is for sellers and admins: a buyer is refused, a stranger asked to log in", async () => {
    expect((await stats("", buyer!)).status).toBe(403);
    expect((await t.get("/api/v1/stats/sales")).status).toBe(401);
  });

  it("keeps the books: the rollup agrees with the orders, product by product and over the whole shop", async () => {
    expect(await invariantViolations(t, [a1.id, a2.id, b1.id])).toEqual([]);
    // This file's database holds only these real flows so far (the tests below tamper with it).
    expect(await checkInvariants(t.container.database.db)).toEqual([]);
  });
});

describe("when the rollup cannot take a sale", () => {
  it("still lands the refund, and reports the drift", async () => {
    const shoe = await createProductVia(t, first!.token, { price: 4_000, stock: 10, category: "Drift" });
    const sold = await paid([[shoe, 2]]);
    // Rows lost behind the service's back: the refund has nothing to take from.
    await t.container.database.db.execute(sql`delete from product_sales_daily where product_id = ${shoe.id}`);
    const failures = async () =>
      metricValue(await t.container.services.metrics.registry.metrics(), "sales_rollup_failures_total", {
        kind: "refund",
      });
    const before = await failures();
    const refund = await t.post("/api/v1/refunds", { orderId: sold.id, amount: 1_000, reason: "scuffed" }, buyer!);
    expect(refund.status).toBe(201);
    expect(refund.body.status).toBe("REFUNDED");
    expect((await failures()) - before).toBe(1);
    expect((await t.get(`/api/v1/orders/${sold.id}`, buyer!)).body.status).toBe("CONFIRMED");
  });
});

describe("Seoul days", () => {
  it("puts a sale paid at 23:59:59.999 in Seoul on that day, and one at midnight on the next", async () => {
    const seller = await t.registerUser("SELLER");
    const shoe = await createProductVia(t, seller.token, { price: 7_000, stock: 10, category: "Boundary" });
    const sale = (paidAt: string, quantity: number): Order => ({
      ...({} as Order),
      id: crypto.randomUUID(),
      paidAt: new Date(paidAt),
      refundedAmount: 0,
      items: [
        {
          productId: shoe.id,
          sellerId: seller.user.id,
          productName: "Boundary",
          category: "Boundary",
          unitPrice: 7_000,
          quantity,
          lineTotal: 7_000 * quantity,
          discountShare: 0,
          refundedAmount: 0,
        },
      ],
    });
    // Paid at chosen instants: the rows a payment's completion adds for them (salesOfPayment, which
    // test/integration/payment-complete.test.ts holds to the completion's own SQL), written by the repository.
    const sales = new DrizzleSalesRepository(new Transactions(database.db));
    await sales.add(salesOfPayment(sale("2026-11-30T14:59:59.999Z", 1)));
    await sales.add(salesOfPayment(sale("2026-11-30T15:00:00.000Z", 2)));
    const days = await stats("?from=2026-11-29&to=2026-12-01", seller);
    expect(days.body.items).toEqual([
      row("2026-11-29", 0, 0, 0),
      row("2026-11-30", 1, 1, 7_000),
      row("2026-12-01", 1, 2, 14_000),
    ]);

    // Popular products: the window is the last `days` Seoul days as the clock reads them.
    const clock = {
      at: Date.parse("2026-12-01T14:59:59.000Z"),
      now: () => new Date(clock.at),
      sleep: (ms: number) => Bun.sleep(ms),
    };
    const late = await createTestApp({ database, env, clock });
    try {
      const one = (await late.get("/api/v1/products/popular?days=1")).body;
      expect(one).toMatchObject({ from: "2026-12-01", to: "2026-12-01" });
      expect(one.items.map((i: any) => [i.product.id, i.soldQuantity])).toEqual([[shoe.id, 2]]);
      const two = (await late.get("/api/v1/products/popular?days=2")).body;
      expect(two.items.map((i: any) => [i.product.id, i.soldQuantity])).toEqual([[shoe.id, 3]]);
      // A second later it is the next day in Seoul: a new window, whatever was cached for the last one.
      clock.at = Date.parse("2026-12-01T15:00:00.000Z");
      const next = await late.get("/api/v1/products/popular?days=1");
      expect(next.headers.get("X-Cache")).toBe("MISS");
      expect(next.body).toMatchObject({ from: "2026-12-02", to: "2026-12-02", items: [] });
    } finally {
      await late.close();
    }
  });
});
