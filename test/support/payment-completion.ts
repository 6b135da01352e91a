import { sql } from "drizzle-orm";
import type { Order } from "../../src/domain/orders/order";
import type { TestApp } from "./harness";

type Who = Awaited<ReturnType<TestApp["registerUser"]>>;

/**
 * What the tests of a payment's one-statement completion (payment_complete) read and break: the order as the
 * domain has it (what salesOfPayment is given), the rollup rows of some products, the PAYMENT_COMPLETED events of
 * an order, and the rollup made to fail as a lock wait past lock_timeout would (55P03), by a trigger named after
 * the file that sets it.
 */
export function paymentCompletionProbes(t: TestApp, triggerName: string) {
  const db = t.container.database.db;
  const fn = sql.raw(`${triggerName}_fn`);
  const trigger = sql.raw(triggerName);
  return {
    async buyerWith(balance: number): Promise<Who> {
      const buyer = await t.registerUser("BUYER");
      await t.post("/api/v1/balances/charge", { userId: buyer.user.id, amount: balance }, buyer);
      return buyer;
    },
    async domainOrder(orderId: string): Promise<Order> {
      const order = await db.query.orders.findFirst({ where: (o, { eq }) => eq(o.id, orderId) });
      const items = await db.query.orderItems.findMany({ where: (i, { eq }) => eq(i.orderId, orderId) });
      return { ...(order as unknown as Order), items: items as unknown as Order["items"] };
    },
    rollupOf: async (productIds: string[]) =>
      (
        await db.query.productSalesDaily.findMany({
          where: (s, { inArray }) => inArray(s.productId, productIds),
          orderBy: (s, { asc }) => [asc(s.salesDay), asc(s.productId)],
        })
      ).map((row) => ({
        salesDay: row.salesDay,
        productId: row.productId,
        category: row.category,
        sellerId: row.sellerId,
        quantity: row.quantity,
        salesAmount: row.salesAmount,
        orderLines: row.orderLines,
        orders: row.orders,
        sellerOrders: row.sellerOrders,
        categoryOrders: row.categoryOrders,
        sellerCategoryOrders: row.sellerCategoryOrders,
      })),
    /** `POST /payments/process` of `orderId` as `buyer`, with one Idempotency-Key each time it is called. */
    keyedPayment(orderId: string, buyer: { token: string }, key: string) {
      return () =>
        t.post("/api/v1/payments/process", { orderId }, { token: buyer.token, headers: { "Idempotency-Key": key } });
    },
    completedEvents: (orderId: string) =>
      db.query.orderEvents.findMany({
        where: (e, { and, eq }) => and(eq(e.aggregateId, orderId), eq(e.type, "PAYMENT_COMPLETED")),
      }),
    async breakRollup() {
      await db.execute(sql`create or replace function ${fn}() returns trigger language plpgsql as $$
        begin raise exception 'rollup row locked' using errcode = '55P03'; end $$`);
      await db.execute(sql`create trigger ${trigger} before insert or update on product_sales_daily
        for each row execute function ${fn}()`);
    },
    mendRollup: () => db.execute(sql`drop trigger ${trigger} on product_sales_daily`),
  };
}
