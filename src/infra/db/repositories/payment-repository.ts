import { and, desc, eq, getTableColumns, ne, type SQL, sql } from "drizzle-orm";
import type { Product } from "../../../domain/catalogue/product";
import type { Claim, IdempotencyScope } from "../../../domain/idempotency/ports";
import type { Order } from "../../../domain/orders/order";
import { ORDER_MOVES } from "../../../domain/orders/order-status";
import { answersItsRequest, type Payment } from "../../../domain/payments/payment";
import {
  isPaymentPath,
  PAYMENT_MACHINE,
  PAYMENT_MOVES,
  type PaymentStatus,
} from "../../../domain/payments/payment-status";
import type { NewPayment, PaymentRepository, StartOutcome, StartTerms } from "../../../domain/payments/ports";
import { rowsOf } from "../client";
import { columnsOf } from "../rows";
import { orderItems, orders, paymentStatusHistory, payments } from "../schema";
import { StatementGroup } from "../statement-group";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { type KeyParams, keyParams, keyRecordOf, keyRow } from "./idempotency-repository";
import { fromOrderRow } from "./order-repository";
import { outboxEventInsert } from "./outbox-repository";
import {
  fromHistoryJson,
  type HistoryJson,
  historyOf,
  orderStatusesToPay,
  paymentViewJson,
  statusArray,
  toPayment,
} from "./payment-rows";
import { startPayment, startStatements } from "./payment-start";
import { saleCtes } from "./product-repository";
import { paidSalesCte, paidSalesOfOrdersCte } from "./sales-repository";

/** Written as literals (program constants), so the planner can match the partial index whatever plan it caches. */
const statusLiterals = (statuses: readonly PaymentStatus[]) =>
  sql.raw(statuses.map((status) => `'${status}'`).join(", "));

/** A payment as read with its history (`withHistory`), without the recovery job's bookkeeping. */
function fromRead({
  nextCheckAt: _next,
  checks: _checks,
  history,
  ...payment
}: typeof payments.$inferSelect & { history: HistoryJson }): Payment {
  return { ...payment, history: fromHistoryJson(history) };
}

/** PAYMENT_GATEWAY_TIMEOUT_MS's upper bound plus a margin: the window of a charge sent before windows were kept. */
export const LEGACY_CHARGE_WINDOW_SECONDS = 130;

/** A payment and its history, as one statement reads it: every column, step times as epoch milliseconds. */
const withHistory = { ...getTableColumns(payments), history: historyOf(sql`${payments}.id`) };

type PaymentRow = Record<string, unknown> & { history: HistoryJson };

/** The steps a statement writes, one history row each, in order: `unnest(steps) with ordinality`. */
const stepsOf = (steps: unknown) => sql`unnest(${statusArray(steps)}) with ordinality as step(status, n)`;

interface MoveParams {
  id: string;
  status: PaymentStatus;
  steps: readonly PaymentStatus[];
  allowed: readonly PaymentStatus[];
  nextCheckInSeconds: number | null;
  clearNextCheck: boolean;
  chargeWindowMs: number | null;
  onlyAfterChargeWindow: boolean;
  failureReason: string | null;
  gatewayTransactionId: string | null;
}

/**
 * The move and its history rows (CTEs `moved` and `logged`). A final payment has nothing left to ask about,
 * unless it asks for one more look (claimDueVerifications). The charge window is decided by the database's clock
 * in the statement that fails the payment, whoever asks; a payment sent before the window was recorded (older
 * releases) is given the longest timeout any release allowed.
 */
const moveCtes = ($: Slots<MoveParams>) => sql`
        moved as (
          update ${payments}
          set status = ${$.status}, updated_at = clock_timestamp(),
            next_check_at = case
              when ${$.nextCheckInSeconds}::double precision is not null
                then clock_timestamp() + ${$.nextCheckInSeconds}::double precision * interval '1 second'
              when ${$.clearNextCheck}::boolean then null
              else next_check_at end,
            charge_window_ends_at = coalesce(
              clock_timestamp() + ${$.chargeWindowMs}::double precision * interval '1 millisecond', charge_window_ends_at),
            failure_reason = coalesce(${$.failureReason}, failure_reason),
            gateway_transaction_id = coalesce(${$.gatewayTransactionId}, gateway_transaction_id)
          where id = ${$.id} and status = any(${statusArray($.allowed)})
            and (not ${$.onlyAfterChargeWindow}::boolean
              or coalesce(charge_window_ends_at, updated_at + ${LEGACY_CHARGE_WINDOW_SECONDS} * interval '1 second')
                <= clock_timestamp())
          returning *
        ), logged as (
          insert into ${paymentStatusHistory} (payment_id, status, at)
          select moved.id, step.status, moved.updated_at from moved, ${stepsOf($.steps)} order by step.n
        )`;

/** Whether every line of `line` was sold (`sold`): a payment's completion writes its event and sales only then. */
const everySold = sql`(select count(*) from sold) = (select count(*) from line)`;

type OrderAndRequestParams = { orderId: string; requestedBy: string | null; idempotencyKey: string | null };

type OrderAndRequestRow = {
  order: Record<string, unknown> | null;
  items: Record<string, unknown>[];
  earlier: (Record<string, unknown> & { history: HistoryJson }) | null;
};

/** The order with its lines and the newest payment the request's key made; with `key`, also selected as `key_row`. */
const orderAndRequestSql = ($: Slots<OrderAndRequestParams>, key?: SQL) => sql`
        select (select row_to_json(o) from ${orders} o where o.id = ${$.orderId}) as "order",
          coalesce((select json_agg(line) from ${orderItems} line where line.order_id = ${$.orderId}), '[]'::json)
            as items,
          (select row_to_json(p) from (
            select ${columnsOf(payments, "e")}, ${historyOf(sql`e.id`)} as history
            from ${payments} e
            where e.requested_by = ${$.requestedBy} and e.idempotency_key = ${$.idempotencyKey}
            order by e.created_at desc, e.id desc limit 1) p) as earlier${key ? sql`, ${key} as key_row` : sql``}`;

/** The statements of the payment path, built once (statements.ts); the recovery job's stay on the builder. */
function hotStatements(tx: Transactions) {
  return {
    ...startStatements(tx),
    /**
     * The payment with its steps, in one statement (one snapshot, one round trip): every step of a checkout
     * reads the payment back, so a second query for the history cost six round trips per checkout.
     */
    byId: new Statement("payment_by_id", tx, (db, $: Slots<{ id: string }>) =>
      db.select(withHistory).from(payments).where(eq(payments.id, $.id)),
    ),
    /** The newest payment a keyed request made, with its history: one statement whether or not there is one. */
    byRequest: new Statement(
      "payment_by_request",
      tx,
      (db, $: Slots<{ requestedBy: string; idempotencyKey: string }>) =>
        db
          .select(withHistory)
          .from(payments)
          .where(and(eq(payments.requestedBy, $.requestedBy), eq(payments.idempotencyKey, $.idempotencyKey)))
          .orderBy(desc(payments.createdAt), desc(payments.id))
          .limit(1),
    ),
    /**
     * A payment request's reads before it starts, in one statement: the order with its lines, and the newest
     * payment its Idempotency-Key made with its history (null parameters for an unkeyed request match none).
     */
    orderAndRequest: new SqlStatement<OrderAndRequestParams, OrderAndRequestRow>("payment_order_and_request", tx, ($) =>
      orderAndRequestSql($),
    ),
    /**
     * The same, with the request's Idempotency-Key's committed row (`key_row`): a keyed payment's first statement
     * takes in the key's look (UnitOfWork.withKeyLookAhead), one statement fewer. No lock: it is sent outside any
     * transaction, so a lock would end with it; the start's claim tries the key's lock and is the fence.
     */
    orderAndRequestLookingKey: new SqlStatement<
      OrderAndRequestParams & KeyParams,
      OrderAndRequestRow & { key_row: unknown }
    >("payment_order_and_request_looking_key", tx, ($) => orderAndRequestSql($, keyRow($))),
    /**
     * The steps and their history rows in one statement, so neither exists without the other; the payment as
     * moved comes back from the same statement (its earlier steps from the statement's snapshot, which cannot
     * see the rows it writes itself), not from a second read. One text for every move: what varies between
     * moves is a parameter (null leaves a column as it is).
     */
    move: new SqlStatement<MoveParams, PaymentRow>(
      "payment_move",
      tx,
      ($) => sql`
        with ${moveCtes($)}
        select ${columnsOf(payments, "moved")}, ${historyOf(sql`moved.id`)} as history from moved`,
    ),
    /**
     * A payment's completion, all of it in one statement (docs/checkout-performance.md, "A payment's completion is
     * one statement"): the move to COMPLETED with its history row (`moved`, `logged`), the order it holds confirmed
     * (`confirmed`, an `update … from moved`: only after the payment's row is locked and moved), the order's units
     * sold (`sale_locked`, `sold`: the products' rows locked in product-id order, after the order's), its sales added
     * to the daily rollup (`sales_added`, after every product was sold: the rollup's rows last) and PAYMENT_COMPLETED
     * written to the order outbox with the payment as moved (`completed_event`). Rows are locked in the order every
     * completion kept: payment, order, products, rollup. It usually runs on its own and commits by itself, so no
     * throw after it could roll it back: `checked` fails the statement itself (everything rolled back, the payment
     * left GATEWAY_REQUESTED) when the payment moved without an order to confirm or a line it could not sell.
     */
    complete: new SqlStatement<MoveParams & { eventId: string }, CompletedRow>(
      "payment_complete",
      tx,
      ($) => sql`
        with ${moveCtes($)}, confirmed as (
          update ${orders} o
          set status = ${ORDER_MOVES.pay.to}, paid_amount = moved.amount, paid_at = now(), version = o.version + 1,
            updated_at = now()
          from moved
          where o.id = moved.order_id and o.payment_id = moved.id
            and o.status = any(${orderStatusesToPay})
          returning o.id, o.status, o.paid_at
        ), line as (
          select i.product_id, i.seller_id, i.category, i.quantity, i.line_total, i.discount_share
          from ${orderItems} i where i.order_id = (select confirmed.id from confirmed)
        ), ${saleCtes("line")}, ${paidSalesCte("line", sql`(select confirmed.paid_at from confirmed)`, everySold)},
        completed_event as (
          ${outboxEventInsert(
            "order",
            sql`select ${$.eventId}::uuid, confirmed.id, 'PAYMENT_COMPLETED',
              ${paymentViewJson("moved")} || jsonb_build_object('orderStatus', confirmed.status)
            from moved, confirmed where ${everySold}`,
          )}
        ), checked as (
          select case when exists (select from confirmed) and ${everySold} then true
            else ('payment_complete: payment ' || moved.id::text
              || ' moved without its order confirmed or every line sold')::boolean end as consistent
          from moved
        )
        select ${columnsOf(payments, "moved")}, ${historyOf(sql`moved.id`)} as history, checked.consistent,
          coalesce((select json_agg(json_build_object('id', sold.id, 'version', sold.version,
            'modelCode', sold.model_code)) from sold), '[]'::json) as sold
        from moved, checked`,
    ),
  };
}

/** What a completion statement returns of each payment it moved. */
type CompletedRow = PaymentRow & { consistent: unknown; sold: { id: string; version: number; modelCode: string }[] };

/** One member of a group of completions: the payment, the gateway's transaction, its PAYMENT_COMPLETED's id. */
interface GroupMember {
  id: string;
  eventId: string;
  gatewayTransactionId: string;
}

/** Whether every product of the group's lines was sold (`sold`, one row per product): the group's event and sales. */
const everyProductSold = sql`(select count(*) from sold) = (select count(*) from product_line)`;

/**
 * The most completions one grouped statement takes: past a few dozen a group's statement holds the rows it shares
 * longer than the waiting completions would gain (docs/checkout-performance.md, "Payment completions in groups").
 */
export const COMPLETION_GROUP_SIZE = 32;

/** What the container sets of the payments' repository (config). */
export interface PaymentRepositoryOptions {
  /**
   * How long completions wait behind the completion statement in flight before each goes alone (StatementGroup's
   * patienceMs; COMPLETION_GROUP_PATIENCE_MS, default 250): a statement still running after this waits on a row
   * lock (a hot product's reservations, a seller's edit) or a sick server, and the completions behind it, of other
   * products mostly, must not wait with it; they then cost what they cost before groups. Well above a group's own
   * run (a few ms, tens under load).
   */
  completionPatienceMs?: number;
  /**
   * Told when a group's statement failed as a whole (its members are then sent alone): an operator sees groups
   * failing (a member that cannot complete, deadlocks, lost connections) that each caller's own outcome hides.
   */
  onCompletionGroupFailure?: (error: unknown, size: number) => void;
}

/** The default of PaymentRepositoryOptions.completionPatienceMs (config.ts's). */
export const COMPLETION_GROUP_PATIENCE_MS = 250;

/**
 * Completions sent together (docs/checkout-performance.md, "Payment completions in groups"): `payment_complete` for
 * many payments at once, so concurrent completions of one product lock its row and its rollup row once, update
 * each once, and commit once. Everything the single statement does, for each payment, with the rows locked in the
 * global lock order: the payments in id order (`pay_locked`), then their orders in id order (`order_locked`), then
 * the products in id order once each (`sale_locked` over `product_line`, the lines summed per product: one update
 * per product), then the rollup rows in key order (`sales_added`: one upsert per row, its counters summed). Groups
 * from two processes, and single completions, so never wait on each other in a cycle. The members are one JSON
 * array (one parameter, any group size, one prepared text); a payment appears once (StatementGroup). Any
 * inconsistency of any member fails the whole statement (`checked`), and its members are then sent alone.
 */
const completeGroup = (tx: Transactions) =>
  new SqlStatement<{ members: string; allowed: readonly PaymentStatus[] }, CompletedRow>(
    "payment_complete_group",
    tx,
    ($) => sql`
      with member as (
        select m.id, m.event_id, m.gateway_transaction_id
        from json_to_recordset(${$.members}::json) as m(id uuid, event_id uuid, gateway_transaction_id text)
      ), pay_locked as materialized (
        select p.id from ${payments} p
        where p.id in (select member.id from member) and p.status = any(${statusArray($.allowed)})
        order by p.id
        for update
      ), moved as (
        update ${payments} p
        set status = 'COMPLETED', updated_at = clock_timestamp(), next_check_at = null,
          gateway_transaction_id = coalesce(member.gateway_transaction_id, p.gateway_transaction_id)
        from member, pay_locked
        where p.id = member.id and pay_locked.id = p.id and p.status = any(${statusArray($.allowed)})
        returning p.*, member.event_id
      ), logged as (
        insert into ${paymentStatusHistory} (payment_id, status, at)
        select moved.id, moved.status, moved.updated_at from moved order by moved.id
      ), order_locked as materialized (
        select o.id from ${orders} o where o.id in (select moved.order_id from moved) order by o.id for update
      ), confirmed as (
        update ${orders} o
        set status = ${ORDER_MOVES.pay.to}, paid_amount = moved.amount, paid_at = now(), version = o.version + 1,
          updated_at = now()
        from moved, order_locked
        where o.id = moved.order_id and o.payment_id = moved.id and order_locked.id = o.id
          and o.status = any(${orderStatusesToPay})
        returning o.id, o.status, o.paid_at, moved.id as payment_id
      ), line as (
        select i.order_id, confirmed.paid_at, i.product_id, i.seller_id, i.category, i.quantity, i.line_total,
          i.discount_share
        from ${orderItems} i join confirmed on i.order_id = confirmed.id
      ), product_line as (
        select line.product_id, sum(line.quantity)::int as quantity from line group by line.product_id
      ), ${saleCtes("product_line")}, ${paidSalesOfOrdersCte(sql`line`, everyProductSold)},
      completed_event as (
        ${outboxEventInsert(
          "order",
          sql`select moved.event_id, confirmed.id, 'PAYMENT_COMPLETED',
            ${paymentViewJson("moved")} || jsonb_build_object('orderStatus', confirmed.status)
          from moved join confirmed on confirmed.payment_id = moved.id where ${everyProductSold}
          order by moved.id`,
        )}
      ), checked as (
        select moved.id, case when exists (select from confirmed where confirmed.payment_id = moved.id)
            and ${everyProductSold} then true
          else ('payment_complete_group: payment ' || moved.id::text
            || ' moved without its order confirmed or every line sold')::boolean end as consistent
        from moved
      )
      select ${columnsOf(payments, "moved")}, ${historyOf(sql`moved.id`)} as history, checked.consistent,
        coalesce((select json_agg(json_build_object('id', sold.id, 'version', sold.version,
          'modelCode', sold.model_code) order by sold.id) from sold
          where sold.id in (select line.product_id from line where line.order_id = moved.order_id)), '[]'::json) as sold
      from moved join checked on checked.id = moved.id`,
  );

export class DrizzlePaymentRepository implements PaymentRepository {
  readonly #hot: ReturnType<typeof hotStatements>;
  readonly #completeGroup: ReturnType<typeof completeGroup>;
  /** Completions sent on their own, grouped while one is in flight (see completeGroup). */
  readonly #completions: StatementGroup<GroupMember, CompletedRow | undefined>;

  constructor(
    private readonly tx: Transactions,
    options: PaymentRepositoryOptions = {},
  ) {
    this.#hot = hotStatements(tx);
    this.#completeGroup = completeGroup(tx);
    this.#completions = new StatementGroup({
      maxSize: COMPLETION_GROUP_SIZE,
      patienceMs: options.completionPatienceMs ?? COMPLETION_GROUP_PATIENCE_MS,
      ...(options.onCompletionGroupFailure ? { onGroupFailure: options.onCompletionGroupFailure } : {}),
      keyOf: (member) => member.id,
      one: (member) => this.#completeOne(member),
      many: (members) => this.#completeMany(members),
    });
  }

  start(payment: NewPayment, terms: StartTerms, key?: { id: IdempotencyScope; claim: Claim }): Promise<StartOutcome> {
    return startPayment(this.#hot, payment, terms, key);
  }

  async find(id: string): Promise<Payment | undefined> {
    const [row] = await this.#hot.byId.run({ id });
    return row && fromRead(row);
  }

  async findByRequest(requestedBy: string, idempotencyKey: string): Promise<Payment | undefined> {
    const [row] = await this.#hot.byRequest.run({ requestedBy, idempotencyKey });
    return row && fromRead(row);
  }

  async findOrderAndRequest(
    orderId: string,
    request?: { requestedBy: string; idempotencyKey: string },
  ): Promise<{ order: Order | undefined; earlier: Payment | undefined }> {
    const params = {
      orderId,
      requestedBy: request?.requestedBy ?? null,
      idempotencyKey: request?.idempotencyKey ?? null,
    };
    // A keyed request's first statement: its key's look, if still to be made, rides on it.
    const look = request && this.tx.takeKeyLookAhead();
    const [row] = look
      ? await this.#hot.orderAndRequestLookingKey.run({ ...params, ...keyParams(look.id) })
      : await this.#hot.orderAndRequest.run(params);
    const order = row?.order ? fromOrderRow({ ...row.order, items: row.items }) : undefined;
    const earlier = row?.earlier ? toPayment(row.earlier, row.earlier.history, []) : undefined;
    if (look) {
      const record = keyRecordOf((row as { key_row?: unknown } | undefined)?.key_row);
      // Throws when the request is not to run (the key answered, in flight, or used with another body).
      look.settle({ free: true, record, answeredByRecord: earlier !== undefined && answersItsRequest(earlier) });
    }
    return { order, earlier };
  }

  async findHolding(orderId: string): Promise<Payment | undefined> {
    const [row] = await this.tx.current
      .select({ id: payments.id })
      .from(payments)
      .where(and(eq(payments.orderId, orderId), ne(payments.status, "FAILED")));
    return row && this.find(row.id);
  }

  async move(
    id: string,
    to: PaymentStatus | readonly PaymentStatus[],
    fields: {
      from?: readonly PaymentStatus[];
      failureReason?: string;
      gatewayTransactionId?: string;
      nextCheckInSeconds?: number;
      chargeWindowMs?: number;
      onlyAfterChargeWindow?: boolean;
    } = {},
  ): Promise<Payment | undefined> {
    const steps: readonly PaymentStatus[] = typeof to === "string" ? [to] : to;
    if (!isPaymentPath(steps)) throw new Error(`not a walk the payment machine allows: ${steps}`);
    const first = steps[0] as PaymentStatus;
    const allowed = PAYMENT_MACHINE.sourcesOf(first).filter((status) => !fields.from || fields.from.includes(status));
    if (allowed.length === 0) return undefined;
    const [row] = await this.#hot.move.run(this.#moveParams(id, steps, allowed, fields));
    return row && toPayment(row, row.history, steps);
  }

  #moveParams(
    id: string,
    steps: readonly PaymentStatus[],
    allowed: readonly PaymentStatus[],
    fields: Parameters<DrizzlePaymentRepository["move"]>[2] & {},
  ): MoveParams {
    const last = steps.at(-1) as PaymentStatus;
    return {
      id,
      status: last,
      steps,
      allowed,
      nextCheckInSeconds: fields.nextCheckInSeconds ?? null,
      clearNextCheck: PAYMENT_MACHINE.isFinal(last),
      chargeWindowMs: fields.chargeWindowMs ?? null,
      onlyAfterChargeWindow: fields.onlyAfterChargeWindow === true,
      failureReason: fields.failureReason ?? null,
      gatewayTransactionId: fields.gatewayTransactionId ?? null,
    };
  }

  /**
   * Inside a caller's transaction the single statement, on it; sent on its own, it joins the process's group of
   * completions (alone if nothing is in flight: the single statement, as before).
   */
  async complete(
    id: string,
    gatewayTransactionId: string,
    eventId: string,
  ): Promise<{ payment: Payment; sold: Pick<Product, "id" | "version" | "modelCode">[] } | undefined> {
    const member = { id, gatewayTransactionId, eventId };
    const row = this.tx.inTransaction() ? await this.#completeOne(member) : await this.#completions.run(member);
    if (!row) return undefined;
    const { consistent: _consistent, sold, ...moved } = row;
    return { payment: toPayment(moved, row.history, ["COMPLETED"]), sold };
  }

  async #completeOne({ id, gatewayTransactionId, eventId }: GroupMember): Promise<CompletedRow | undefined> {
    const [row] = await this.#hot.complete.run({
      ...this.#moveParams(id, ["COMPLETED"], PAYMENT_MACHINE.sourcesOf("COMPLETED"), { gatewayTransactionId }),
      eventId,
    });
    return row;
  }

  async #completeMany(members: readonly GroupMember[]): Promise<(CompletedRow | undefined)[]> {
    const rows = await this.#completeGroup.run({
      members: JSON.stringify(
        members.map((m) => ({ id: m.id, event_id: m.eventId, gateway_transaction_id: m.gatewayTransactionId })),
      ),
      allowed: PAYMENT_MACHINE.sourcesOf("COMPLETED"),
    });
    const byId = new Map(rows.map((row) => [String(row.id), row]));
    return members.map((member) => byId.get(member.id));
  }

  async claimDueChecks(limit: number, leaseSeconds: number): Promise<string[]> {
    const result = await this.tx.current.execute(sql`
      update ${payments} set next_check_at = clock_timestamp() + ${leaseSeconds} * interval '1 second',
        checks = checks + 1
      where id in (
        select id from ${payments}
        where status = 'GATEWAY_REQUESTED' and next_check_at <= clock_timestamp()
        order by next_check_at limit ${limit}
        for update skip locked
      )
      returning id`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }

  async claimDueVerifications(limit: number): Promise<{ id: string; orderId: string; failureReason: string | null }[]> {
    // One more look each: the claim clears the time, so no instance looks twice.
    const result = await this.tx.current.execute(sql`
      update ${payments} set next_check_at = null
      where id in (
        select id from ${payments}
        where status = 'FAILED' and next_check_at <= clock_timestamp()
        order by next_check_at limit ${limit}
        for update skip locked
      )
      returning id, order_id, failure_reason`);
    return rowsOf<{ id: string; order_id: string; failure_reason: string | null }>(result).map((row) => ({
      id: row.id,
      orderId: row.order_id,
      failureReason: row.failure_reason,
    }));
  }

  async findAbandoned(olderThanSeconds: number, limit: number): Promise<string[]> {
    const result = await this.tx.current.execute(sql`
      select id from ${payments}
      where status in (${statusLiterals(PAYMENT_MOVES.abandon.from)})
        and updated_at < clock_timestamp() - ${olderThanSeconds} * interval '1 second'
      order by updated_at limit ${limit}`);
    return rowsOf<{ id: string }>(result).map((row) => row.id);
  }
}
