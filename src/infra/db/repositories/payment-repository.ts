import { and, desc, eq, getTableColumns, ne, type SQL, sql } from "drizzle-orm";
import type { Order } from "../../../domain/orders/order";
import { ORDER_MOVES } from "../../../domain/orders/order-status";
import type { Payment } from "../../../domain/payments/payment";
import {
  isPaymentPath,
  PAYMENT_MACHINE,
  PAYMENT_MOVES,
  type PaymentStatus,
} from "../../../domain/payments/payment-status";
import type { NewPayment, PaymentRepository } from "../../../domain/payments/ports";
import { rowsOf } from "../client";
import { columnsOf, fromRow } from "../rows";
import { orderItems, orders, paymentStatusHistory, payments } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { fromOrderRow, type OrderWithItemsRow } from "./order-repository";

/** Written as literals (program constants), so the planner can match the partial index whatever plan it caches. */
const statusLiterals = (statuses: readonly PaymentStatus[]) =>
  sql.raw(statuses.map((status) => `'${status}'`).join(", "));

type HistoryJson = { status: PaymentStatus; atMs: number | string }[];

/** A payment's steps in the order taken, step times as epoch milliseconds (the column keeps milliseconds). */
const historyOf = (paymentId: SQL) => sql<HistoryJson>`coalesce((
  select json_agg(json_build_object(
    'status', h.status, 'atMs', round(extract(epoch from h.at) * 1000)::bigint) order by h.id)
  from ${paymentStatusHistory} h where h.payment_id = ${paymentId}), '[]'::json)`;

const fromHistoryJson = (history: HistoryJson) =>
  history.map((step) => ({ status: step.status, at: new Date(Number(step.atMs)) }));

/** A payment as read with its history (`withHistory`), without the recovery job's bookkeeping. */
function fromRead({
  nextCheckAt: _next,
  checks: _checks,
  history,
  ...payment
}: typeof payments.$inferSelect & { history: HistoryJson }): Payment {
  return { ...payment, history: fromHistoryJson(history) };
}

/**
 * A payment from the row a statement returned, with `earlier` steps read before it and the `steps` it has
 * just written (each at the row's updated_at: they were taken together).
 */
function toPayment(row: Record<string, unknown>, earlier: HistoryJson, steps: readonly PaymentStatus[]): Payment {
  const { nextCheckAt: _next, checks: _checks, ...payment } = fromRow(payments, row);
  return {
    ...payment,
    history: [...fromHistoryJson(earlier), ...steps.map((status) => ({ status, at: payment.updatedAt }))],
  };
}

/** PAYMENT_GATEWAY_TIMEOUT_MS's upper bound plus a margin: the window of a charge sent before windows were kept. */
export const LEGACY_CHARGE_WINDOW_SECONDS = 130;

/** A payment and its history, as one statement reads it: every column, step times as epoch milliseconds. */
const withHistory = { ...getTableColumns(payments), history: historyOf(sql`${payments}.id`) };

type PaymentRow = Record<string, unknown> & { history: HistoryJson };

/**
 * A list of statuses as one parameter. Sent as text[] and cast in SQL: PGlite serialises arrays of built-in types
 * only (an enum's array type is the database's own), postgres.js any.
 */
const statusArray = (statuses: unknown) => sql`${statuses}::text[]::payment_status[]`;

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

/** The statements of the payment path, built once (statements.ts); the recovery job's stay on the builder. */
function hotStatements(tx: Transactions) {
  return {
    /** The partial unique index (one holding payment per order) decides between concurrent attempts. */
    create: new SqlStatement<
      Omit<NewPayment, "requestedBy" | "idempotencyKey"> & {
        status: PaymentStatus;
        steps: PaymentStatus[];
        requestedBy: string | null;
        idempotencyKey: string | null;
      }
    >(
      "payment_create",
      tx,
      ($) => sql`
        with created as (
          insert into ${payments} (id, order_id, user_id, amount, status, requested_by, idempotency_key)
          values (${$.id}, ${$.orderId}, ${$.userId}, ${$.amount}, ${$.status}, ${$.requestedBy}, ${$.idempotencyKey})
          on conflict do nothing
          returning *
        ), logged as (
          insert into ${paymentStatusHistory} (payment_id, status, at)
          select created.id, step.status, created.created_at from created, ${stepsOf($.steps)} order by step.n
        )
        select ${columnsOf(payments, "created")} from created`,
    ),
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
     * The move to COMPLETED and the order it holds confirmed, in one statement. The order's update joins the
     * moved payment, so it runs (and locks the order's row) only after the payment's row is locked and moved.
     */
    complete: new SqlStatement<
      MoveParams,
      PaymentRow & { confirmed: Record<string, unknown> | null; items: Record<string, unknown>[] }
    >(
      "payment_complete",
      tx,
      ($) => sql`
        with ${moveCtes($)}, confirmed as (
          update ${orders} o
          set status = ${ORDER_MOVES.pay.to}, paid_amount = moved.amount, paid_at = now(), version = o.version + 1,
            updated_at = now()
          from moved
          where o.id = moved.order_id and o.payment_id = moved.id
            and o.status = any(${sql.raw(`array[${ORDER_MOVES.pay.from.map((status) => `'${status}'`).join(", ")}]::order_status[]`)})
          returning o.*
        )
        select ${columnsOf(payments, "moved")}, ${historyOf(sql`moved.id`)} as history,
          (select row_to_json(confirmed) from confirmed) as confirmed,
          coalesce((select json_agg(line) from ${orderItems} line where line.order_id = moved.order_id), '[]'::json)
            as items
        from moved`,
    ),
  };
}

export class DrizzlePaymentRepository implements PaymentRepository {
  readonly #hot: ReturnType<typeof hotStatements>;

  constructor(private readonly tx: Transactions) {
    this.#hot = hotStatements(tx);
  }

  async create(payment: NewPayment, steps: readonly PaymentStatus[] = ["INITIATED"]): Promise<Payment | undefined> {
    if (steps[0] !== "INITIATED" || !isPaymentPath(steps)) throw new Error(`not a payment's first steps: ${steps}`);
    const [row] = await this.#hot.create.run({
      ...payment,
      status: steps.at(-1) as PaymentStatus,
      steps: [...steps],
      requestedBy: payment.requestedBy ?? null,
      idempotencyKey: payment.idempotencyKey ?? null,
    });
    return row && toPayment(row, [], steps);
  }

  async find(id: string): Promise<Payment | undefined> {
    const [row] = await this.#hot.byId.run({ id });
    return row && fromRead(row);
  }

  async findByRequest(requestedBy: string, idempotencyKey: string): Promise<Payment | undefined> {
    const [row] = await this.#hot.byRequest.run({ requestedBy, idempotencyKey });
    return row && fromRead(row);
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

  async complete(
    id: string,
    gatewayTransactionId: string,
  ): Promise<{ payment: Payment; order: Order | undefined } | undefined> {
    const [row] = await this.#hot.complete.run(
      this.#moveParams(id, ["COMPLETED"], PAYMENT_MACHINE.sourcesOf("COMPLETED"), { gatewayTransactionId }),
    );
    if (!row) return undefined;
    const { confirmed, items, ...moved } = row;
    return {
      payment: toPayment(moved, row.history, ["COMPLETED"]),
      order: confirmed ? fromOrderRow({ ...confirmed, items } as OrderWithItemsRow) : undefined,
    };
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
