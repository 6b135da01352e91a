import { type SQL, sql } from "drizzle-orm";
import { ORDER_MOVES } from "../../../domain/orders/order-status";
import type { Payment } from "../../../domain/payments/payment";
import type { PaymentStatus } from "../../../domain/payments/payment-status";
import { fromRow } from "../rows";
import { paymentStatusHistory, payments } from "../schema";

// What the payment statements share (payment-repository.ts, payment-start.ts): rows, history, status lists.

export type HistoryJson = { status: PaymentStatus; atMs: number | string }[];

/** A payment's steps in the order taken, step times as epoch milliseconds (the column keeps milliseconds). */
export const historyOf = (paymentId: SQL) => sql<HistoryJson>`coalesce((
  select json_agg(json_build_object(
    'status', h.status, 'atMs', round(extract(epoch from h.at) * 1000)::bigint) order by h.id)
  from ${paymentStatusHistory} h where h.payment_id = ${paymentId}), '[]'::json)`;

export const fromHistoryJson = (history: HistoryJson) =>
  history.map((step) => ({ status: step.status, at: new Date(Number(step.atMs)) }));

/**
 * A payment from the row a statement returned, with `earlier` steps read before it and the `steps` it has
 * just written (each at the row's updated_at: they were taken together).
 */
export function toPayment(
  row: Record<string, unknown>,
  earlier: HistoryJson,
  steps: readonly PaymentStatus[],
): Payment {
  const { nextCheckAt: _next, checks: _checks, ...payment } = fromRow(payments, row);
  return {
    ...payment,
    history: [...fromHistoryJson(earlier), ...steps.map((status) => ({ status, at: payment.updatedAt }))],
  };
}

/**
 * A list of statuses as one parameter. Sent as text[] and cast in SQL: PGlite serialises arrays of built-in types
 * only (an enum's array type is the database's own), postgres.js any.
 */
export const statusArray = (statuses: unknown) => sql`${statuses}::text[]::payment_status[]`;

/** The order statuses a payment may hold an order in (the order machine's `pay` move starts from them). */
export const orderStatusesToPay = sql.raw(
  `array[${ORDER_MOVES.pay.from.map((status) => `'${status}'`).join(", ")}]::order_status[]`,
);

/** A boolean as either driver returns it. */
export const isTrue = (value: unknown) => value === true || value === "t";

/** A moment as toISOString writes it (UTC, milliseconds: the columns keep milliseconds). */
const isoOf = (at: SQL) => sql`to_char(${at} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * toPaymentView (payment.ts) in SQL, as jsonb, for an event a statement writes with the payment it moved (a
 * payment's completion: PAYMENT_COMPLETED): `p`, a row of payments as moved by the statement, which has just taken
 * the step `p.status` at `p.updated_at` (its history rows written by the same statement are not visible to it).
 * test/integration/payment-complete.test.ts checks it against toPaymentView.
 */
export function paymentViewJson(p: string): SQL {
  const row = sql.raw(p);
  const optional = (key: string, column: string) =>
    sql`case when nullif(${row}.${sql.raw(column)}, '') is not null
      then jsonb_build_object(${sql.raw(`'${key}'`)}, ${row}.${sql.raw(column)}) else '{}'::jsonb end`;
  const earlier = sql`coalesce((
    select jsonb_agg(jsonb_build_object('status', h.status, 'at', ${isoOf(sql`h.at`)}) order by h.id)
    from ${paymentStatusHistory} h where h.payment_id = ${row}.id), '[]'::jsonb)`;
  return sql`(jsonb_build_object('id', ${row}.id, 'orderId', ${row}.order_id, 'userId', ${row}.user_id,
      'amount', ${row}.amount, 'status', ${row}.status,
      'history', ${earlier} || jsonb_build_array(jsonb_build_object('status', ${row}.status,
        'at', ${isoOf(sql`${row}.updated_at`)})),
      'createdAt', ${isoOf(sql`${row}.created_at`)}, 'updatedAt', ${isoOf(sql`${row}.updated_at`)})
    || ${optional("failureReason", "failure_reason")} || ${optional("gatewayTransactionId", "gateway_transaction_id")})`;
}
