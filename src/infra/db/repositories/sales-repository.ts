import { type AnyColumn, and, asc, between, desc, eq, type SQL, sql } from "drizzle-orm";
import type { DayRange, ProductSales, SalesRepository, SalesTotal, StoredGrouping } from "../../../domain/sales/ports";
import type { SalesDelta } from "../../../domain/sales/sales-deltas";
import { productSalesDaily as daily, orderItems } from "../schema";
import { SqlStatement } from "../statements";
import type { Transactions } from "../transactions";

const total = (column: AnyColumn) => sql<number>`coalesce(sum(${column}), 0)`.mapWith(Number);

/** What each grouping is keyed by, and which order count counts its distinct orders (all sellers, one seller). */
const GROUPINGS: Record<StoredGrouping, { key: SQL; orders: AnyColumn; sellerOrders: AnyColumn }> = {
  // to_char, not ::text: a date's text form follows the session's DateStyle.
  day: { key: sql`to_char(${daily.salesDay}, 'YYYY-MM-DD')`, orders: daily.orders, sellerOrders: daily.sellerOrders },
  category: { key: sql`${daily.category}`, orders: daily.categoryOrders, sellerOrders: daily.sellerCategoryOrders },
  product: { key: sql`${daily.productId}::text`, orders: daily.orderLines, sellerOrders: daily.orderLines },
  seller: { key: sql`${daily.sellerId}::text`, orders: daily.sellerOrders, sellerOrders: daily.sellerOrders },
};

const COUNTERS = [
  "quantity",
  "sales_amount",
  "order_lines",
  "orders",
  "seller_orders",
  "category_orders",
  "seller_category_orders",
] as const;

/** The counters of a row that is there already, added to (sales_add and a payment's completion). */
const addedOnConflict = sql.raw(
  `on conflict (sales_day, product_id, category) do update set ${COUNTERS.map((c) => `${c} = "product_sales_daily".${c} + excluded.${c}`).join(", ")}`,
);

/**
 * A completed payment's sales added to their days' rows: the CTE `sales_added` of the one statement that completes
 * it (payment-repository.ts, `payment_complete`), over `line` (a CTE of the order's lines: product_id, seller_id,
 * category, quantity, line_total, discount_share), `paidAt` (the order's paid_at as written) and `when` (what must
 * hold, and have run, first: every line sold, so the products' rows are locked before the rollup's). The deltas
 * are salesOfPayment's (sales-deltas.ts) in SQL, as a group's of one order (paidSalesOfOrdersCte): one rule for
 * both. test/integration/payment-complete.test.ts checks it against salesOfPayment.
 */
export const paidSalesCte = (line: string, paidAt: SQL, when: SQL) =>
  paidSalesOfOrdersCte(sql`(select null::uuid as order_id, ${paidAt} as paid_at, l.* from ${sql.raw(line)} l)`, when);

/**
 * The sales of several completed payments added to their days' rows at once: the CTE `sales_added` of the one
 * statement that completes a group of them (payment-repository.ts, `payment_complete_group`), over `lines` (their
 * orders' lines, a CTE or a subquery: order_id, paid_at, product_id, seller_id, category, quantity, line_total,
 * discount_share) and `when` (what must hold, and have run, first: every line sold, so the products' rows are locked
 * before the rollup's). The deltas are salesOfPayment's (sales-deltas.ts) in SQL, summed over the orders: each line
 * on the Seoul day it was paid (fixed UTC+9, as seoul-days.ts), what was paid for it, and each order counted on its
 * own first line in product-id order (and so per seller, category, and seller + category). Each row is written
 * once, by one upsert, so the counters come out as the orders' single completions would make them. Rows written in
 * key order (the rollup's lock order); test/integration/payment-complete-group.test.ts checks the counters against
 * single completions.
 */
export const paidSalesOfOrdersCte = (lines: SQL, when: SQL) => {
  const first = (partition: string) =>
    sql.raw(`(row_number() over (partition by l.order_id${partition} order by l.product_id) = 1)::int`);
  return sql`
  sales_added as (
    insert into ${daily} (sales_day, product_id, category, seller_id, ${sql.raw(COUNTERS.join(", "))})
    select f.sales_day, f.product_id, f.category, f.seller_id, sum(f.quantity)::int, sum(f.sales_amount)::bigint,
      count(*)::int, sum(f.orders)::int, sum(f.seller_orders)::int, sum(f.category_orders)::int,
      sum(f.seller_category_orders)::int
    from (
      select ((l.paid_at at time zone 'UTC') + interval '9 hours')::date as sales_day, l.product_id, l.category,
        l.seller_id, l.quantity, l.line_total - l.discount_share as sales_amount, ${first("")} as orders,
        ${first(", l.seller_id")} as seller_orders, ${first(", l.category")} as category_orders,
        ${first(", l.seller_id, l.category")} as seller_category_orders
      from ${lines} l
    ) f
    where ${when}
    group by f.sales_day, f.product_id, f.category, f.seller_id
    order by f.sales_day, f.product_id, f.category
    ${addedOnConflict}
  )`;
};

/**
 * A payment's sales added to their days' rows, in one statement built once for any number of lines: the deltas
 * come as one JSON array (one row per product of the order, so no row is met twice).
 */
const addSales = (tx: Transactions) =>
  new SqlStatement<{ deltas: string }>(
    "sales_add",
    tx,
    ($) => sql`
      insert into ${daily} (sales_day, product_id, category, seller_id, ${sql.raw(COUNTERS.join(", "))})
      select d.sales_day, d.product_id, d.category, d.seller_id, ${sql.raw(COUNTERS.map((c) => `d.${c}`).join(", "))}
      from json_to_recordset(${$.deltas}::json) as d(sales_day date, product_id uuid, category text, seller_id uuid,
        quantity int, sales_amount bigint, order_lines int, orders int, seller_orders int, category_orders int,
        seller_category_orders int)
      ${addedOnConflict}`,
  );

export class DrizzleSalesRepository implements SalesRepository {
  readonly #add: ReturnType<typeof addSales>;

  constructor(private readonly tx: Transactions) {
    this.#add = addSales(tx);
  }

  async add(deltas: SalesDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    // A refund takes back from rows its payment wrote; an INSERT would check its negative values first.
    if (deltas.some((delta) => delta.quantity < 0 || delta.salesAmount < 0 || delta.orderLines < 0)) {
      for (const delta of deltas) await this.#takeBack(delta);
      return;
    }
    const rows = deltas.map((delta) => ({
      sales_day: delta.salesDay,
      product_id: delta.productId,
      category: delta.category,
      seller_id: delta.sellerId,
      quantity: delta.quantity,
      sales_amount: delta.salesAmount,
      order_lines: delta.orderLines,
      orders: delta.orders,
      seller_orders: delta.sellerOrders,
      category_orders: delta.categoryOrders,
      seller_category_orders: delta.sellerCategoryOrders,
    }));
    await this.#add.run({ deltas: JSON.stringify(rows) });
  }

  async refundLines(orderId: string, shares: { productId: string; amount: number }[]): Promise<void> {
    for (const share of shares) {
      if (share.amount === 0) continue;
      const updated = await this.tx.current
        .update(orderItems)
        .set({ refundedAmount: sql`${orderItems.refundedAmount} + ${share.amount}` })
        .where(and(eq(orderItems.orderId, orderId), eq(orderItems.productId, share.productId)))
        .returning({ id: orderItems.id });
      if (updated.length !== 1) throw new Error(`order ${orderId} has no line of product ${share.productId}`);
    }
  }

  async #takeBack(delta: SalesDelta): Promise<void> {
    const plus = (column: AnyColumn, value: number) => sql`${column} + ${value}`;
    const updated = await this.tx.current
      .update(daily)
      .set({
        quantity: plus(daily.quantity, delta.quantity),
        salesAmount: plus(daily.salesAmount, delta.salesAmount),
        orderLines: plus(daily.orderLines, delta.orderLines),
        orders: plus(daily.orders, delta.orders),
        sellerOrders: plus(daily.sellerOrders, delta.sellerOrders),
        categoryOrders: plus(daily.categoryOrders, delta.categoryOrders),
        sellerCategoryOrders: plus(daily.sellerCategoryOrders, delta.sellerCategoryOrders),
      })
      .where(
        and(
          eq(daily.salesDay, delta.salesDay),
          eq(daily.productId, delta.productId),
          eq(daily.category, delta.category),
        ),
      )
      .returning({ productId: daily.productId });
    if (updated.length !== 1) {
      throw new Error(`no sales of product ${delta.productId} on ${delta.salesDay} to take a refund from`);
    }
  }

  async topProducts(range: DayRange, limit: number): Promise<ProductSales[]> {
    const quantity = total(daily.quantity);
    const salesAmount = total(daily.salesAmount);
    return this.tx.current
      .select({ productId: daily.productId, quantity, salesAmount })
      .from(daily)
      .where(between(daily.salesDay, range.from, range.to))
      .groupBy(daily.productId)
      .having(sql`sum(${daily.quantity}) > 0`)
      .orderBy(desc(quantity), desc(salesAmount), asc(daily.productId))
      .limit(limit);
  }

  async totals(range: DayRange, grouping: StoredGrouping, sellerId?: string): Promise<SalesTotal[]> {
    const group = GROUPINGS[grouping];
    const key = sql<string>`${group.key}`;
    return this.tx.current
      .select({
        key,
        orderCount: total(sellerId ? group.sellerOrders : group.orders),
        quantity: total(daily.quantity),
        salesAmount: total(daily.salesAmount),
      })
      .from(daily)
      .where(and(between(daily.salesDay, range.from, range.to), sellerId ? eq(daily.sellerId, sellerId) : undefined))
      .groupBy(group.key)
      .having(sql`sum(${daily.quantity}) > 0 or sum(${daily.salesAmount}) > 0`)
      .orderBy(asc(group.key));
  }
}
