import { and, count, desc, eq, inArray, isNull, lte, or, type SQL, sql } from "drizzle-orm";
import type { Sql } from "postgres";
import type { CancelReason, Order } from "../../../domain/orders/order";
import { ORDER_MOVES, type OrderStatus } from "../../../domain/orders/order-status";
import type { NewOrder, OrderCreated, OrderFilter, OrderRepository, PlacedOrder } from "../../../domain/orders/ports";
import { DomainError } from "../../../domain/shared/errors";
import { offsetOf, type Page, type PageRequest } from "../../../domain/shared/paging";
import { sqlState } from "../../dependency-errors";
import { GroupCommit } from "../../group-commit";
import { columnsOf, fromRow } from "../rows";
import { orderItems, orders, products } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { groupKeyAnswersCte, type KeyAnswerParams, keyAnswerCte, keyAnswerParams } from "./idempotency-repository";
import { carriesOutboxEvents, outboxEventInsert } from "./outbox-repository";
import { groupFitCtes, groupMoveCtes, reservationCtes } from "./product-repository";

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

/** A group's members (one JSON array) and all their lines (another), each tagged with its member's `ord`. */
type GroupParams = { members: string; lines: string };

/**
 * `order_place_group` (see hotStatements.placeGroup): many orders placed by one statement, run autocommit on a
 * connection of its own. Returns a row per order it placed (`ord`: its member's place in the group).
 */
const placingGroup = ($: Slots<GroupParams>) => sql`
  with group_member as (
    select * from json_to_recordset(${$.members}::json) as m(ord int, id uuid, user_id uuid, subtotal bigint,
      discount_amount bigint, total_amount bigint, user_coupon_id uuid, coupon_applied boolean,
      coupon_rejected_reason text, created_at timestamptz, payment_timeout_seconds int, event_id uuid,
      event_payload jsonb, key_scope text, key_method text, key_path text, key_key text, key_request_hash text,
      key_claim_token text, key_now timestamptz, key_expires_at timestamptz, key_status int, key_body text,
      key_headers jsonb)
  ), group_line as (
    select * from json_to_recordset(${$.lines}::json) as line(ord int, id uuid, product_id uuid, seller_id uuid,
      product_name text, category text, unit_price bigint, quantity int, line_total bigint, discount_share bigint,
      refunded_amount bigint)
  ), ${groupFitCtes("group_line", "group_member")}, ${groupKeyAnswersCte("group_member", "group_accepted")},
  group_taken as (
    select ord from group_member
    where ord in (select ord from group_accepted)
      and (key_key is null or exists (select from group_keys_answered k where k.scope = group_member.key_scope
        and k.method = group_member.key_method and k.path = group_member.key_path and k.key = group_member.key_key))
  ), ${groupMoveCtes("group_line", "group_taken")}, placed as (
    insert into ${orders} (id, user_id, subtotal, discount_amount, total_amount, user_coupon_id, coupon_applied,
      coupon_rejected_reason, expires_at, created_at, updated_at)
    select id, user_id, subtotal, discount_amount, total_amount, user_coupon_id, coupon_applied,
      coupon_rejected_reason, created_at + payment_timeout_seconds * interval '1 second', created_at, created_at
    from group_member where ord in (select ord from group_taken)
    order by ord
    returning *
  ), lines as (
    insert into ${orderItems} (id, order_id, product_id, seller_id, product_name, category, unit_price, quantity,
      line_total, discount_share, refunded_amount)
    select group_line.id, placed.id, group_line.product_id, group_line.seller_id, group_line.product_name,
      group_line.category, group_line.unit_price, group_line.quantity, group_line.line_total,
      group_line.discount_share, group_line.refunded_amount
    from group_line join group_member on group_member.ord = group_line.ord join placed on placed.id = group_member.id
    returning *
  ), group_events as (
    ${outboxEventInsert(
      "order",
      sql`select event_id, id, 'ORDER_CREATED', event_payload from group_member
        where ord in (select ord from group_taken) order by ord`,
    )}
    returning id
  )
  select ${columnsOf(orders, "placed")}, group_member.ord, group_member.key_key is not null as key_stored,
    (select json_agg(lines) from lines where lines.order_id = placed.id) as items,
    (select json_agg(json_build_object('id', group_moved.id, 'version', group_moved.version,
        'modelCode', group_moved.model_code))
      from group_moved where group_moved.id in (select product_id from group_line where group_line.ord = group_member.ord))
      as products
  from placed join group_member on group_member.id = placed.id
  -- Never oversold: every product of the accepted members moved, or the whole statement fails (22012) and each
  -- member goes alone. A CASE, so nothing is folded at plan time.
  where case when (select count(*) from group_moved) = (select count(*) from group_total) then true
    else (select count(*) from group_moved) / 0 = 0 end`;

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
    /**
     * A group of orders (keyed or not, no coupon) placed by ONE statement (GroupCommit, the orders that became
     * ready while another order's statement was in flight): the products of all of them locked once each in
     * product-id order and updated once each with the units of the orders accepted (groupFitCtes and
     * groupMoveCtes, product-repository.ts); each accepted order's row, lines and ORDER_CREATED written as
     * `order_place` writes them. Run autocommit on the
     * group's own connection (Transactions.groupConnection): all or nothing, whoever dies meanwhile.
     */
    placeGroup: new SqlStatement<GroupParams, PlacedRow & { ord: number }>("order_place_group", tx, placingGroup),
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

/**
 * A member of a group of orders: its order's row, lines and ORDER_CREATED as `order_place` writes them, and a
 * keyed order's answer as `order_place_answering` stores it.
 */
interface GroupMember {
  order: Omit<NewOrder, "items" | "createdAt"> & { createdAt: string };
  lines: Record<string, unknown>[];
  event: { id: string; payload: unknown };
  key: KeyAnswerParams | undefined;
}

export class DrizzleOrderRepository implements OrderRepository {
  readonly #hot: ReturnType<typeof hotStatements>;
  /** Orders placed together while one is in flight (postgres.js, with a group connection, size > 1). */
  readonly group: GroupCommit<GroupMember, PlacedRow> | undefined;

  constructor(
    private readonly tx: Transactions,
    /** ORDER_GROUP_SIZE: at most this many orders per group statement (1: none grouped). */
    groupSize = 1,
    /** Told when a group's statement failed as a whole (its members are then placed alone). */
    onGroupFailure?: (error: unknown, size: number) => void,
  ) {
    this.#hot = hotStatements(tx);
    const connection = tx.groupConnection;
    if (tx.postgres && connection && groupSize > 1) {
      this.group = new GroupCommit((members) => this.#placeGroup(connection, members), groupSize, onGroupFailure);
    }
  }

  /** One statement for `members` (order_place_group): each one's row if it placed it, else undefined (it goes alone). */
  async #placeGroup(connection: Sql, members: GroupMember[]): Promise<(PlacedRow | undefined)[]> {
    const rows = await this.#hot.placeGroup.runOn(connection, {
      members: JSON.stringify(
        members.map(({ order, event, key }, ord) => ({
          ord,
          id: order.id,
          user_id: order.userId,
          subtotal: order.subtotal,
          discount_amount: order.discountAmount,
          total_amount: order.totalAmount,
          user_coupon_id: order.userCouponId,
          coupon_applied: order.couponApplied,
          coupon_rejected_reason: order.couponRejectedReason,
          created_at: order.createdAt,
          payment_timeout_seconds: order.paymentTimeoutSeconds,
          event_id: event.id,
          event_payload: event.payload,
          key_scope: key?.scope ?? null,
          key_method: key?.method ?? null,
          key_path: key?.path ?? null,
          key_key: key?.key ?? null,
          key_request_hash: key?.requestHash ?? null,
          key_claim_token: key?.claimToken ?? null,
          key_now: key?.now ?? null,
          key_expires_at: key?.expiresAt ?? null,
          key_status: key?.status ?? null,
          key_body: key?.body ?? null,
          key_headers: key ? JSON.parse(key.headers) : null,
        })),
      ),
      lines: JSON.stringify(members.flatMap(({ lines }, ord) => lines.map((line) => ({ ord, ...line })))),
    });
    const placed = new Array<PlacedRow | undefined>(members.length);
    for (const row of rows) placed[Number(row.ord)] = row;
    return placed;
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
    const key = answer?.ready && keyAnswerParams(answer.id, answer.ready.claim, answer.ready.response);
    // Cleared when the order goes its own path (in its transaction); else a group's statement placed it.
    let grouped = true;
    const alone = async () => {
      grouped = false;
      const running = key ? this.#hot.placeAnswering.run({ ...params, ...key }) : this.#hot.place.run(params);
      const [placed] = await running.catch((error: unknown) => {
        // The buyer is the only foreign key that can fail here (the lines' products and sellers were just read,
        // and products are never deleted): an admin ordering for a user who does not exist (or was deleted
        // meanwhile). Caught here rather than read first: no extra query on the order path. (In a group it fails
        // the group's statement: every member then comes here.)
        if (sqlState(error) === "23503") throw new DomainError("USER_NOT_FOUND", `No user ${order.userId}`);
        throw error;
      });
      // Refused after it locked its products (they stay locked in the transaction): a retry of this order in the
      // same transaction (PriceChanged) must not wait for a group that may wait for those rows.
      if (!placed) this.tx.markMayHoldRowLocks();
      return placed;
    };
    // An order without a coupon, its transaction holding only its read (and a keyed one's key lock): it may be
    // placed by a group's statement, with its key's answer (written and committed there; the transaction then
    // commits its read, letting its key's lock go). A coupon's redemption is written in the order's own
    // transaction: that one goes alone.
    const groupable = this.group && order.userCouponId === null && this.tx.atPlainRoot(key !== undefined);
    const member = { order: { ...fields, createdAt: params.createdAt }, lines, event: created, key: key || undefined };
    // Grouped by its first product in product-id order (the row its statement locks first): orders of one hot
    // product share a statement, orders of others do not wait for them.
    const [first = ""] = lines.map((line) => line.product_id).sort();
    const row = groupable ? await this.group?.submit(first, member, alone) : await alone();
    if (answer && row) answer.stored = (row as { key_stored?: unknown }).key_stored === true;
    return row && { order: fromOrderRow(row), reserved: row.products, committed: grouped };
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
