import { and, desc, eq, getTableColumns, ne, type SQL, sql } from "drizzle-orm";
import type { Claim, IdempotencyScope } from "../../../domain/idempotency/ports";
import type { Order } from "../../../domain/orders/order";
import { ORDER_MOVES, type OrderStatus } from "../../../domain/orders/order-status";
import type { Payment } from "../../../domain/payments/payment";
import {
  isPaymentPath,
  PAYMENT_MACHINE,
  PAYMENT_MOVES,
  type PaymentStatus,
  START_WALKS,
} from "../../../domain/payments/payment-status";
import type { NewPayment, PaymentRepository, StartOutcome, StartTerms } from "../../../domain/payments/ports";
import { rowsOf } from "../client";
import { columnsOf, fromRow } from "../rows";
import { balances, orderItems, orders, paymentStatusHistory, payments } from "../schema";
import { type Slots, SqlStatement, Statement } from "../statements";
import type { Transactions } from "../transactions";
import { balanceChangeCtes } from "./balance-repository";
import { type KeyClaimParams, keyClaimCtes, keyClaimParams } from "./idempotency-repository";
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

/** The order statuses a payment may hold an order in (the order machine's `pay` move starts from them). */
const orderStatusesToPay = sql.raw(
  `array[${ORDER_MOVES.pay.from.map((status) => `'${status}'`).join(", ")}]::order_status[]`,
);

interface StartParams {
  id: string;
  orderId: string;
  userId: string;
  amount: number;
  requestedBy: string | null;
  idempotencyKey: string | null;
  ledgerEntryId: string;
  ledgerType: "PAYMENT";
  nextCheckInSeconds: number;
  chargeWindowMs: number;
  requestedSteps: readonly PaymentStatus[];
  orderNotPayableSteps: readonly PaymentStatus[];
  insufficientBalanceSteps: readonly PaymentStatus[];
  orderNotPayableReason: string;
  insufficientBalanceReason: string;
}

type StartRow = Record<string, unknown> & {
  claimed: boolean | string;
  taken: boolean | string | null;
  order_status: OrderStatus | null;
  balance: string | number | bigint | null;
  requested: boolean | string | null;
  held: string | number | bigint;
  debited: string | number | bigint;
};

/** A boolean as either driver returns it. */
const isTrue = (value: unknown) => value === true || value === "t";

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

/**
 * A payment's every step before the gateway (PaymentRepository.start), one statement. Rows are locked in one
 * order: the order's (FOR UPDATE: read as committed last, whoever changed it while this statement waited),
 * then, only if it may be held, the buyer's balance, then the payment's insert (the partial unique index,
 * the fence against a holding payment the order does not name). Each outcome is decided on the locked rows,
 * so the hold and the debit that follow (on rows this statement already holds, their conditions checked
 * again) cannot be refused: a payment is never recorded at GATEWAY_REQUESTED without both, and a refused one
 * leaves the order and the balance as they were. The caller checks that both happened all the same. `gate`: a
 * CTE named `gate` with one row whose `open` says whether to go on at all (the key's claim, when carried).
 */
const startSql = ($: Slots<StartParams>, gate: SQL) => sql`
    with ${gate}, ordered as (
      select o.status as order_status, o.payment_id is not null as taken,
        o.status = any(${orderStatusesToPay}) and o.payment_id is null and o.expires_at > now() as payable
      from ${orders} o where o.id = ${$.orderId} and (select gate.open from gate)
      for update
    ), funded as (
      select b.balance, b.balance >= ${$.amount}::bigint as enough
      from ${balances} b where b.user_id = ${$.userId} and (select ordered.payable from ordered)
      for update
    ), path as (
      select ordered.payable and funded.enough as requested,
        case when not ordered.payable then ${statusArray($.orderNotPayableSteps)}
          when funded.enough then ${statusArray($.requestedSteps)}
          else ${statusArray($.insufficientBalanceSteps)} end as steps,
        case when not ordered.payable then ${$.orderNotPayableReason}::text
          when not funded.enough then ${$.insufficientBalanceReason}::text end as failure_reason
      from ordered left join funded on true
      where not ordered.taken and (not ordered.payable or funded.balance is not null)
    ), created as (
      insert into ${payments} (id, order_id, user_id, amount, status, failure_reason, next_check_at,
        charge_window_ends_at, requested_by, idempotency_key, updated_at)
      select ${$.id}, ${$.orderId}, ${$.userId}, ${$.amount}, path.steps[array_length(path.steps, 1)],
        path.failure_reason,
        case when path.requested
          then clock_timestamp() + ${$.nextCheckInSeconds}::double precision * interval '1 second' end,
        case when path.requested
          then clock_timestamp() + ${$.chargeWindowMs}::double precision * interval '1 millisecond' end,
        ${$.requestedBy}, ${$.idempotencyKey}, clock_timestamp()
      from path
      on conflict do nothing
      returning *
    ), logged as (
      insert into ${paymentStatusHistory} (payment_id, status, at)
      select created.id, step.status, created.updated_at
      from created, path, unnest(path.steps) with ordinality as step(status, n) order by step.n
    ), held as (
      update ${orders} o set payment_id = created.id, version = o.version + 1, updated_at = now()
      from created, path
      where path.requested and o.id = created.order_id and o.payment_id is null
        and o.status = any(${orderStatusesToPay}) and o.expires_at > now()
      returning o.id
    ), ${balanceChangeCtes(
      {
        userId: sql`${$.userId}`,
        delta: sql`(0 - ${$.amount}::bigint)`,
        type: sql`${$.ledgerType}::ledger_entry_type`,
        referenceId: sql`${$.id}`,
        ledgerEntryId: sql`${$.ledgerEntryId}`,
      },
      sql`(select path.requested from path) and exists (select 1 from created)
        and ${balances.balance} >= ${$.amount}::bigint`,
    )}
    select gate.open as claimed, ordered.taken, ordered.order_status, funded.balance, path.requested,
      (select count(*) from held) as held, (select count(*) from updated) as debited,
      ${columnsOf(payments, "created")}
    from gate left join ordered on true left join funded on true left join path on true
      left join created on true`;

/** The statements of the payment path, built once (statements.ts); the recovery job's stay on the builder. */
function hotStatements(tx: Transactions) {
  return {
    start: new SqlStatement<StartParams, StartRow>("payment_start", tx, ($) =>
      startSql($, sql`gate as (select true as open)`),
    ),
    /**
     * The same, beginning with the claim of the request's Idempotency-Key (the transaction's opening step,
     * taken in: one statement fewer): the key's try-lock and row first, and nothing else unless it was claimed,
     * so a held key still answers 409 before the order's row is even locked.
     */
    startClaiming: new SqlStatement<StartParams & KeyClaimParams, StartRow>("payment_start_claiming", tx, ($) =>
      startSql($, sql`${keyClaimCtes($)}, gate as (select exists (select 1 from key_claimed) as open)`),
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
     * A payment request's reads before it starts, in one statement: the order with its lines, and the newest
     * payment its Idempotency-Key made with its history (null parameters for an unkeyed request match none).
     */
    orderAndRequest: new SqlStatement<
      { orderId: string; requestedBy: string | null; idempotencyKey: string | null },
      {
        order: Record<string, unknown> | null;
        items: Record<string, unknown>[];
        earlier: (Record<string, unknown> & { history: HistoryJson }) | null;
      }
    >(
      "payment_order_and_request",
      tx,
      ($) => sql`
        select (select row_to_json(o) from ${orders} o where o.id = ${$.orderId}) as "order",
          coalesce((select json_agg(line) from ${orderItems} line where line.order_id = ${$.orderId}), '[]'::json)
            as items,
          (select row_to_json(p) from (
            select ${columnsOf(payments, "e")}, ${historyOf(sql`e.id`)} as history
            from ${payments} e
            where e.requested_by = ${$.requestedBy} and e.idempotency_key = ${$.idempotencyKey}
            order by e.created_at desc, e.id desc limit 1) p) as earlier`,
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
            and o.status = any(${orderStatusesToPay})
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

  async start(
    payment: NewPayment,
    terms: StartTerms,
    key?: { id: IdempotencyScope; claim: Claim },
  ): Promise<StartOutcome> {
    const params: StartParams = {
      ...payment,
      requestedBy: payment.requestedBy ?? null,
      idempotencyKey: payment.idempotencyKey ?? null,
      ...terms,
      ledgerType: "PAYMENT",
      requestedSteps: START_WALKS.requested,
      orderNotPayableSteps: START_WALKS.orderNotPayable,
      insufficientBalanceSteps: START_WALKS.insufficientBalance,
      orderNotPayableReason: "ORDER_NOT_PAYABLE",
      insufficientBalanceReason: "INSUFFICIENT_BALANCE",
    };
    const [row] = key
      ? await this.#hot.startClaiming.run({ ...params, ...keyClaimParams(key.id, key.claim) })
      : await this.#hot.start.run(params);
    if (!row) throw new Error(`payment_start returned no row for order ${payment.orderId}`);
    // Another request holds the key: nothing else ran.
    if (!isTrue(row.claimed)) return { kind: "key in use" };
    if (row.order_status === null) throw new Error(`order ${payment.orderId} vanished before its payment started`);
    if (isTrue(row.taken)) return { kind: "held by another" };
    // No path: the order could be held, but the buyer has no balance row to debit.
    if (row.requested === null) return { kind: "no balance" };
    // The insert met a holding payment the order does not name (the partial unique index).
    if (row.id === null) return { kind: "held by another" };
    if (isTrue(row.requested)) {
      if (Number(row.held) !== 1 || Number(row.debited) !== 1) {
        // Decided on rows this statement had locked: cannot happen; if it did, the caller's transaction rolls back.
        throw new Error(`payment ${payment.id} reached the gateway step without its hold and debit`);
      }
      return { kind: "requested", payment: toPayment(row, [], START_WALKS.requested) };
    }
    if (row.failure_reason === "ORDER_NOT_PAYABLE") {
      return {
        kind: "order not payable",
        payment: toPayment(row, [], START_WALKS.orderNotPayable),
        orderStatus: row.order_status as OrderStatus,
      };
    }
    return {
      kind: "insufficient balance",
      payment: toPayment(row, [], START_WALKS.insufficientBalance),
      balance: Number(row.balance),
    };
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
    const [row] = await this.#hot.orderAndRequest.run({
      orderId,
      requestedBy: request?.requestedBy ?? null,
      idempotencyKey: request?.idempotencyKey ?? null,
    });
    const order = row?.order ? fromOrderRow({ ...row.order, items: row.items }) : undefined;
    const earlier = row?.earlier ? toPayment(row.earlier, row.earlier.history, []) : undefined;
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
