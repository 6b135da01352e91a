import { and, count, desc, eq, inArray, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { CancelReason, Order } from "../../../domain/orders/order";
import { ORDER_MOVES, type OrderStatus } from "../../../domain/orders/order-status";
import type { NewOrder, OrderCreated, OrderFilter, OrderRepository, PlacedOrder } from "../../../domain/orders/ports";
import { DomainError } from "../../../domain/shared/errors";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { sqlState } from "../../dependency-errors";
import { columnsOf, fromRow } from "../rows";
import { orderItems, orders, products } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { type KeyAnswerParams, keyAnswerCte, keyAnswerParams } from "./idempotency-repository";
import { carriesOutboxEvents } from "./outbox-repository";
import { reservationCtes } from "./product-repository";

type OrderRow = typeof orders.$inferSelect & { items: (typeof orderItems.$inferSelect)[] };

const toOrder = ({ items, cancelReason, ...order }: OrderRow): Order => ({
  ...order,
  cancelReason: cancelReason as CancelReason | null,
  items: items
    .map(({ id: _id, orderId: _orderId, ...line }) => line)
    .sort((a, b) => (a.productId < b.productId ? -1 : 1)),
});

export type OrderWithItemsRow = Record<string, unknown> & { items: Record<string, unknown>[] };
type PlacedRow = OrderWithItemsRow & { products: PlacedOrder["reserved"] };

type PlaceParams = Omit<NewOrder, "items" | "createdAt"> & { lines: string; createdAt: string } & Record<
    string,
    unknown
  >;

/** `order_place`'s text (see hotStatements.place), with `answer` (a CTE after the order's) when it carries one. */
const placing = ($: Slots<PlaceParams>, answer?: SQL) => sql`
  with line as (
    select * from json_to_recordset(${$.lines}::json) as line(id uuid, product_id uuid, seller_id uuid,
      product_name text, category text, unit_price bigint, quantity int, line_total bigint, discount_share bigint,
      refunded_amount bigint)
  ), ${reservationCtes("line")}, placed as (
    insert into ${orders} (id, user_id, subtotal, discount_amount, total_amount, user_coupon_id, coupon_applied,
      coupon_rejected_reason, expires_at, created_at, updated_at)
    select ${$.id}, ${$.userId}, ${$.subtotal}, ${$.discountAmount}, ${$.totalAmount},
      ${$.userCouponId}, ${$.couponApplied}, ${$.couponRejectedReason},
      ${$.createdAt}::timestamptz + ${$.paymentTimeoutSeconds}::int * interval '1 second',
      ${$.createdAt}::timestamptz, ${$.createdAt}::timestamptz
    where (select count(*) from reserved) = (select count(*) from line)
    returning *
  ), lines as (
    insert into ${orderItems} (id, order_id, product_id, seller_id, product_name, category, unit_price, quantity,
      line_total, discount_share, refunded_amount)
    select line.id, placed.id, line.product_id, line.seller_id, line.product_name, line.category,
      line.unit_price, line.quantity, line.line_total, line.discount_share, line.refunded_amount
    from placed, line
    returning *
  ), ${carriesOutboxEvents.ctes(sql`placed`)}${answer ? sql`, ${answer}` : sql``}
  select ${columnsOf(orders, "placed")}, (select json_agg(lines) from lines) as items,
    (select json_agg(json_build_object('id', id, 'version', version, 'modelCode', model_code)) from reserved)
      as products${answer ? sql`, (select count(*) from key_answered) = 1 as key_stored` : sql``}
  from placed`;

/** The statements of the order and payment path, built once (statements.ts); the rest stays on the builder. */
function hotStatements(tx: Transactions) {
  return {
    /**
     * The order placed in one statement: its lines' stock reserved first (the products' rows locked in product-id
     * order, reservationCtes in product-repository.ts), then the order and its lines inserted only if every line
     * was reserved. A refusal (short stock, a product discontinued or repriced meanwhile) matches no row and writes
     * nothing, so the order needs no savepoint of its own to leave nothing behind (its Idempotency-Key stays free),
     * and the hot product's row is locked only by this, the order's last write. The lines come as one JSON array
     * (any number of lines, one statement text). Its times are `createdAt`, the database's clock as the order's
     * products were read (which the expiry sweeper compares against): so the order as written is known before it is
     * written, and its ORDER_CREATED (its payload that order) is written by this statement too, only with the order
     * (the outbox's own CTEs, carriesOutboxEvents): an order costs no statement for its event, and a hot product's
     * row is not held for one. Returns the order as written, its lines, and what drops the reserved products'
     * cached details. Each product once per order (the route refuses a product twice): `reserved` has one row per
     * product.
     */
    place: new SqlStatement<PlaceParams, PlacedRow>("order_place", tx, ($) => placing($), {
      // Counted as a write only when it placed the order: a refusal leaves hasWritten as it was.
      writesOnlyWithRows: true,
    }),
    /**
     * The same, with the keyed transaction's stored answer written last, only with the order (keyAnswerCte, the
     * idempotency repository's): a keyed order's statement is then the transaction's last before COMMIT, so its
     * hot product's row is held for that statement and the commit only. `key_stored`: whether it was stored.
     */
    placeAnswering: new SqlStatement<PlaceParams & KeyAnswerParams, PlacedRow & { key_stored: unknown }>(
      "order_place_answering",
      tx,
      ($) => placing($, keyAnswerCte($, sql`placed`)),
      { writesOnlyWithRows: true },
    ),
    byId: new Statement("order_by_id", tx, (db, $: Slots<{ id: string }>) =>
      db.query.orders.findFirst({ where: eq(orders.id, $.id), with: { items: true } }),
    ),
    releasePaymentHold: new Statement(
      "order_release_payment_hold",
      tx,
      (db, $: Slots<{ id: string; paymentId: string }>) =>
        db
          .update(orders)
          .set({ paymentId: null, ...bump })
          .where(
            and(
              eq(orders.id, $.id),
              eq(orders.paymentId, $.paymentId),
              inArray(orders.status, [...ORDER_MOVES.pay.from]),
            ),
          )
          .returning({ id: orders.id }),
    ),
  };
}

/** An order from a row of `orders` (driver values or row_to_json) and its lines as JSON. */
export const fromOrderRow = (row: OrderWithItemsRow): Order =>
  toOrder({ ...fromRow(orders, row), items: row.items.map((line) => fromRow(orderItems, line)) });

export class DrizzleOrderRepository implements OrderRepository {
  readonly #hot: ReturnType<typeof hotStatements>;

  constructor(private readonly tx: Transactions) {
    this.#hot = hotStatements(tx);
  }

  async place(order: NewOrder, created: OrderCreated): Promise<PlacedOrder | undefined> {
    const { items, createdAt, ...fields } = order;
    const event = { id: created.id, aggregate_id: order.id, type: "ORDER_CREATED", payload: created.payload };
    const lines = items.map((line) => ({
      id: Bun.randomUUIDv7(),
      product_id: line.productId,
      seller_id: line.sellerId,
      product_name: line.productName,
      category: line.category,
      unit_price: line.unitPrice,
      quantity: line.quantity,
      line_total: line.lineTotal,
      discount_share: line.discountShare,
      refunded_amount: line.refundedAmount,
    }));
    const params = {
      ...fields,
      createdAt: createdAt.toISOString(),
      lines: JSON.stringify(lines),
      ...carriesOutboxEvents.bind([{ topic: "order", row: event }]),
    };
    // A keyed transaction's answer, rendered ahead from this order (UnitOfWork.withKeyAnswer), rides on it.
    const answer = this.tx.takeKeyAnswer();
    const running = answer?.ready
      ? this.#hot.placeAnswering.run({
          ...params,
          ...keyAnswerParams(answer.id, answer.ready.claim, answer.ready.response),
        })
      : this.#hot.place.run(params);
    const rows = await running.catch((error: unknown) => {
      // The buyer is the only foreign key that can fail here (the lines' products and sellers were just read,
      // and products are never deleted): an admin ordering for a user who does not exist (or was deleted
      // meanwhile). Caught here rather than read first: no extra query on the order path.
      if (sqlState(error) === "23503") throw new DomainError("USER_NOT_FOUND", `No user ${order.userId}`);
      throw error;
    });
    const [row] = rows;
    if (answer && row) answer.stored = (row as { key_stored?: unknown }).key_stored === true;
    return row && { order: fromOrderRow(row), reserved: row.products };
  }

  async find(id: string): Promise<Order | undefined> {
    const row = await this.#hot.byId.run({ id });
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

  async releasePaymentHold(orderId: string, paymentId: string): Promise<void> {
    await this.#hot.releasePaymentHold.run({ id: orderId, paymentId });
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
    const ids = rows.map((row) => row.id);
    // The batch's products locked now, all in product-id order, before any order's units are released: released
    // order after order (each in id order), the batch would take a later order's product while holding an earlier
    // one's of higher id, out of the global lock order; a group of completions (payment-repository.ts,
    // payment_complete_group) holds the products of several orders, all in id order, and the two deadlocked
    // (test/integration/payment-complete-group-expiry.test.ts).
    if (ids.length > 0) {
      await this.tx.current.execute(sql`
        select ${products.id} from ${products}
        where ${products.id} in (select ${orderItems.productId} from ${orderItems} where ${inArray(orderItems.orderId, ids)})
        order by ${products.id}
        for update`);
    }
    return ids;
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
