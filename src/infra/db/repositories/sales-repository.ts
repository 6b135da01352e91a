import { type AnyColumn, and, asc, between, desc, eq, type SQL, sql } from "drizzle-orm";
import type { DayRange, ProductSales, SalesRepository, SalesTotal, StoredGrouping } from "../../../domain/sales/ports";
import type { SalesDelta } from "../../../domain/sales/sales-deltas";
import { productSalesDaily as daily, orderItems } from "../schema";
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

export class DrizzleSalesRepository implements SalesRepository {
  constructor(private readonly tx: Transactions) {}

  async add(deltas: SalesDelta[]): Promise<void> {
    if (deltas.length === 0) return;
    // A refund takes back from rows its payment wrote; an INSERT would check its negative values first.
    if (deltas.some((delta) => delta.quantity < 0 || delta.salesAmount < 0 || delta.orderLines < 0)) {
      for (const delta of deltas) await this.#takeBack(delta);
      return;
    }
    const plus = (column: string) => sql.raw(`"product_sales_daily"."${column}" + excluded."${column}"`);
    await this.tx.current
      .insert(daily)
      .values(deltas)
      .onConflictDoUpdate({
        target: [daily.salesDay, daily.productId, daily.category],
        set: {
          quantity: plus("quantity"),
          salesAmount: plus("sales_amount"),
          orderLines: plus("order_lines"),
          orders: plus("orders"),
          sellerOrders: plus("seller_orders"),
          categoryOrders: plus("category_orders"),
          sellerCategoryOrders: plus("seller_category_orders"),
        },
      });
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
