import { and, count, desc, eq, gt, inArray, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { CancelReason, Order } from "../../../domain/orders/order";
import { ORDER_MOVES, type OrderStatus } from "../../../domain/orders/order-status";
import type { NewOrder, OrderFilter, OrderRepository } from "../../../domain/orders/ports";
import { DomainError } from "../../../domain/shared/errors";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { sqlState } from "../../dependency-errors";
import { rowsOf } from "../client";
import { fromRow } from "../rows";
import { orderItems, orders } from "../schema";
import type { Transactions } from "../transactions";

type OrderRow = typeof orders.$inferSelect & { items: (typeof orderItems.$inferSelect)[] };

const toOrder = ({ items, cancelReason, ...order }: OrderRow): Order => ({
  ...order,
  cancelReason: cancelReason as CancelReason | null,
  items: items
    .map(({ id: _id, orderId: _orderId, ...line }) => line)
    .sort((a, b) => (a.productId < b.productId ? -1 : 1)),
});

export class DrizzleOrderRepository implements OrderRepository {
  constructor(private readonly tx: Transactions) {}

  async insert(order: NewOrder): Promise<Order> {
    const { items, paymentTimeoutSeconds, ...fields } = order;
    const lines = sql.join(
      items.map(
        (
          line,
        ) => sql`(${Bun.randomUUIDv7()}::uuid, ${line.productId}::uuid, ${line.sellerId}::uuid, ${line.productName},
          ${line.category}, ${line.unitPrice}::bigint, ${line.quantity}::int, ${line.lineTotal}::bigint,
          ${line.discountShare}::bigint, ${line.refundedAmount}::bigint)`,
      ),
      sql`, `,
    );
    // The order and its lines in one statement, as written (RETURNING): no second insert, no reading back.
    // Both timestamps from the database's clock, which the expiry sweeper compares against.
    const result = await this.tx.current
      .execute(sql`
        with placed as (
          insert into ${orders} (id, user_id, subtotal, discount_amount, total_amount, user_coupon_id, coupon_applied,
            coupon_rejected_reason, expires_at)
          values (${fields.id}, ${fields.userId}, ${fields.subtotal}, ${fields.discountAmount}, ${fields.totalAmount},
            ${fields.userCouponId}, ${fields.couponApplied}, ${fields.couponRejectedReason},
            now() + ${paymentTimeoutSeconds} * interval '1 second')
          returning *
        ), lines as (
          insert into ${orderItems} (id, order_id, product_id, seller_id, product_name, category, unit_price, quantity,
            line_total, discount_share, refunded_amount)
          select line.id, placed.id, line.product_id, line.seller_id, line.product_name, line.category, line.unit_price,
            line.quantity, line.line_total, line.discount_share, line.refunded_amount
          from placed, (values ${lines}) as line(id, product_id, seller_id, product_name, category, unit_price, quantity,
            line_total, discount_share, refunded_amount)
          returning *
        )
        select placed.*, (select json_agg(lines) from lines) as items from placed`)
      .catch((error: unknown) => {
        // The buyer is the only foreign key that can fail here (the lines' products and sellers were just read,
        // and products are never deleted): an admin ordering for a user who does not exist (or was deleted
        // meanwhile). Caught here rather than read first: no extra query on the order path.
        if (sqlState(error) === "23503") throw new DomainError("USER_NOT_FOUND", `No user ${order.userId}`);
        throw error;
      });
    const [row] = rowsOf<Record<string, unknown> & { items: Record<string, unknown>[] }>(result);
    if (!row) throw new Error(`order ${order.id} was not inserted`);
    return toOrder({ ...fromRow(orders, row), items: row.items.map((line) => fromRow(orderItems, line)) });
  }

  async find(id: string): Promise<Order | undefined> {
    const row = await this.tx.current.query.orders.findFirst({ where: eq(orders.id, id), with: { items: true } });
    return row && toOrder(row);
  }

  async list(filter: OrderFilter, page: PageRequest): Promise<Page<Order>> {
    const where = and(...conditions(filter));
    const [rows, counted] = await Promise.all([
      this.tx.current.query.orders.findMany({
        where,
        with: { items: true },
        orderBy: [desc(orders.createdAt), desc(orders.id)],
        limit: page.size,
        offset: offsetOf(page),
      }),
      this.tx.current.select({ total: count() }).from(orders).where(where),
    ]);
    return { items: rows.map(toOrder), ...page, total: counted[0]?.total ?? 0 };
  }

  async cancelUnpaid(id: string, reason: CancelReason): Promise<Order | undefined> {
    const changed = await this.tx.current
      .update(orders)
      .set({ status: ORDER_MOVES.cancelUnpaid.to, cancelledAt: sql`now()`, cancelReason: reason, ...bump })
      .where(
        and(eq(orders.id, id), inArray(orders.status, [...ORDER_MOVES.cancelUnpaid.from]), isNull(orders.paymentId)),
      )
      .returning({ id: orders.id });
    return changed.length === 1 ? this.find(id) : undefined;
  }

  async advance(id: string, from: OrderStatus, to: OrderStatus, at: Date): Promise<Order | undefined> {
    const changed = await this.tx.current
      .update(orders)
      .set({
        status: to,
        ...(to === "SHIPPED" ? { shippedAt: at } : {}),
        ...(to === "DELIVERED" ? { deliveredAt: at } : {}),
        ...bump,
      })
      .where(and(eq(orders.id, id), eq(orders.status, from)))
      .returning({ id: orders.id });
    return changed.length === 1 ? this.find(id) : undefined;
  }

  async holdForPayment(orderId: string, paymentId: string): Promise<boolean> {
    const held = await this.tx.current
      .update(orders)
      .set({ paymentId, ...bump })
      .where(
        and(
          eq(orders.id, orderId),
          inArray(orders.status, [...ORDER_MOVES.pay.from]),
          isNull(orders.paymentId),
          gt(orders.expiresAt, sql`now()`),
        ),
      )
      .returning({ id: orders.id });
    return held.length === 1;
  }

  async releasePaymentHold(orderId: string, paymentId: string): Promise<void> {
    await this.tx.current
      .update(orders)
      .set({ paymentId: null, ...bump })
      .where(
        and(eq(orders.id, orderId), eq(orders.paymentId, paymentId), inArray(orders.status, [...ORDER_MOVES.pay.from])),
      );
  }

  async confirmPaid(orderId: string, paymentId: string, amount: number): Promise<Order | undefined> {
    // The order as confirmed and its lines in one statement (the lines never change before payment), so the
    // payment's completion does not read the order back.
    const result = await this.tx.current.execute(sql`
      with confirmed as (
        update ${orders}
        set status = ${ORDER_MOVES.pay.to}, paid_amount = ${amount}, paid_at = now(), version = version + 1, updated_at = now()
        where id = ${orderId} and payment_id = ${paymentId} and ${inArray(orders.status, [...ORDER_MOVES.pay.from])}
        returning *
      )
      select confirmed.*, coalesce((select json_agg(line) from ${orderItems} line where line.order_id = confirmed.id),
        '[]'::json) as items
      from confirmed`);
    const [row] = rowsOf<Record<string, unknown> & { items: Record<string, unknown>[] }>(result);
    if (!row) return undefined;
    return toOrder({ ...fromRow(orders, row), items: row.items.map((line) => fromRow(orderItems, line)) });
  }

  async lockForRefund(orderId: string): Promise<Order | undefined> {
    const [locked] = await this.tx.current
      .select({ id: orders.id })
      .from(orders)
      .where(eq(orders.id, orderId))
      .for("update");
    return locked && this.find(orderId);
  }

  async holdRefund(orderId: string, amount: number): Promise<void> {
    await this.tx.current
      .update(orders)
      .set({ refundPendingAmount: sql`${orders.refundPendingAmount} + ${amount}`, ...bump })
      .where(eq(orders.id, orderId));
  }

  async settleRefund(orderId: string, amount: number): Promise<Order> {
    await this.tx.current
      .update(orders)
      .set({
        refundPendingAmount: sql`${orders.refundPendingAmount} - ${amount}`,
        refundedAmount: sql`${orders.refundedAmount} + ${amount}`,
        ...bump,
      })
      .where(eq(orders.id, orderId));
    return (await this.find(orderId)) as Order;
  }

  async cancelRefunded(orderId: string): Promise<Order | undefined> {
    const changed = await this.tx.current
      .update(orders)
      .set({ status: ORDER_MOVES.cancelRefunded.to, cancelledAt: sql`now()`, cancelReason: "REFUNDED", ...bump })
      .where(
        and(
          eq(orders.id, orderId),
          inArray(orders.status, [...ORDER_MOVES.cancelRefunded.from]),
          eq(orders.refundedAmount, orders.paidAmount),
        ),
      )
      .returning({ id: orders.id });
    return changed.length === 1 ? this.find(orderId) : undefined;
  }

  async completeDelivered(deliveredBy: Date, limit: number): Promise<string[]> {
    const due = this.tx.current
      .select({ id: orders.id })
      .from(orders)
      .where(and(inArray(orders.status, [...AUTO_COMPLETE.from]), lte(orders.deliveredAt, deliveredBy)))
      .orderBy(orders.deliveredAt)
      .limit(limit)
      .for("update", { skipLocked: true });
    const completed = await this.tx.current
      .update(orders)
      .set({ status: AUTO_COMPLETE.to, ...bump })
      // Re-checked on the locked row: a buyer's confirmation or a refund that got there first wins.
      .where(and(inArray(orders.id, due), inArray(orders.status, [...AUTO_COMPLETE.from])))
      .returning({ id: orders.id });
    return completed.map((row) => row.id);
  }

  async claimExpired(limit: number): Promise<string[]> {
    const rows = await this.tx.current
      .select({ id: orders.id })
      .from(orders)
      .where(
        and(
          inArray(orders.status, [...ORDER_MOVES.cancelUnpaid.from]),
          isNull(orders.paymentId),
          lte(orders.expiresAt, sql`now()`),
        ),
      )
      .orderBy(orders.expiresAt)
      .limit(limit)
      .for("update", { skipLocked: true });
    return rows.map((row) => row.id);
  }
}

// The one step the machine lets time take: its statuses, not a list written again here.
const AUTO_COMPLETE = ORDER_MOVES.autoComplete;

const bump = { version: sql`${orders.version} + 1`, updatedAt: sql`now()` };

function conditions(filter: OrderFilter): SQL[] {
  const where: SQL[] = [];
  if (filter.userId) where.push(eq(orders.userId, filter.userId));
  if (filter.status) where.push(eq(orders.status, filter.status));
  if (filter.visibleTo) {
    // Written out: the relational query aliases its tables, and would requalify order_items' columns.
    const sells = sql`exists (select 1 from order_items seller_line
      where seller_line.order_id = ${orders.id} and seller_line.seller_id = ${filter.visibleTo})`;
    where.push(or(eq(orders.userId, filter.visibleTo), sells) as SQL);
  }
  return where;
}
