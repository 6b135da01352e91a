import { type SQL, sql } from "drizzle-orm";
import type { Claim, IdempotencyScope } from "../../../domain/idempotency/ports";
import type { OrderStatus } from "../../../domain/orders/order-status";
import { type PaymentStatus, START_WALKS } from "../../../domain/payments/payment-status";
import type { NewPayment, StartOutcome, StartTerms } from "../../../domain/payments/ports";
import { columnsOf } from "../rows";
import { balances, orders, paymentStatusHistory, payments } from "../schema";
import { type Slots, SqlStatement } from "../statements";
import type { Transactions } from "../transactions";
import { balanceChangeCtes } from "./balance-repository";
import { type KeyClaimParams, keyClaimCtes, keyClaimParams } from "./idempotency-repository";
import { isTrue, orderStatusesToPay, statusArray, toPayment } from "./payment-rows";

// A payment's every step before the gateway in one statement (PaymentRepository.start), apart from the
// repository's other statements: docs/checkout-performance.md, "A payment's start is one statement".

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

/**
 * Fails the statement (a cast error: plain SQL has no RAISE) if it created a payment at GATEWAY_REQUESTED without
 * exactly one hold and one debit. Decided on rows it had locked, so it cannot happen; but the statement usually
 * runs on its own (it commits by itself), where a throw after it could no longer roll it back.
 */
const unlessHeldAndDebited = sql`case
      when created.id is not null and path.requested
        and ((select count(*) from held) <> 1 or (select count(*) from updated) <> 1)
      then ('payment_start: payment ' || created.id::text || ' reached the gateway step without its hold and debit')::boolean
      else true end`;

/**
 * A payment's every step before the gateway (PaymentRepository.start), one statement. Rows are locked in one
 * order: the order's (FOR UPDATE: read as committed last, whoever changed it while this statement waited),
 * then, only if it may be held, the buyer's balance, then the payment's insert (the partial unique index,
 * the fence against a holding payment the order does not name). Each outcome is decided on the locked rows,
 * so the hold and the debit that follow (on rows this statement already holds) cannot be refused: a payment is
 * never recorded at GATEWAY_REQUESTED without both, and a refused one leaves the order and the balance as they
 * were. The hold and the debit repeat none of those conditions, and the debit applies to the balance as locked:
 * an UPDATE filters rows by its WHERE, and computes and checks (balances_non_negative) its new row, on the
 * statement's snapshot before it re-reads a row changed meanwhile, so a balance topped up (or an order's earlier
 * hold let go) while this statement waited for the row would match nothing, or fail the check, though the locked
 * row passed. The caller checks that both happened all the same. `gate`: a
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
      where path.requested and o.id = created.order_id
      returning o.id
    ), ${balanceChangeCtes(
      {
        userId: sql`${$.userId}`,
        delta: sql`(0 - ${$.amount}::bigint)`,
        type: sql`${$.ledgerType}::ledger_entry_type`,
        referenceId: sql`${$.id}`,
        ledgerEntryId: sql`${$.ledgerEntryId}`,
        current: sql`(select funded.balance from funded)`,
      },
      sql`(select path.requested from path) and exists (select 1 from created)`,
    )}
    select gate.open as claimed, ordered.taken, ordered.order_status, funded.balance, path.requested,
      (select count(*) from held) as held, (select count(*) from updated) as debited,
      ${unlessHeldAndDebited} as consistent,
      ${columnsOf(payments, "created")}
    from gate left join ordered on true left join funded on true left join path on true
      left join created on true`;

/** A payment's start, built once (statements.ts): without a key, and carrying the claim of the request's key. */
export function startStatements(tx: Transactions) {
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
  };
}

/** Runs the start (claiming `key` first, if given) and says how it ended, from the one row it returns. */
export async function startPayment(
  statements: ReturnType<typeof startStatements>,
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
    ? await statements.startClaiming.run({ ...params, ...keyClaimParams(key.id, key.claim) })
    : await statements.start.run(params);
  if (!row) throw new Error(`payment_start returned no row for order ${payment.orderId}`);
  // Another request holds the key: nothing else ran.
  if (!isTrue(row.claimed)) return { kind: "key in use" };
  if (row.order_status === null) return { kind: "no order" };
  if (isTrue(row.taken)) return { kind: "held by another" };
  // No path: the order could be held, but the buyer has no balance row to debit.
  if (row.requested === null) return { kind: "no balance" };
  // The insert met a holding payment the order does not name (the partial unique index).
  if (row.id === null) return { kind: "held by another" };
  if (isTrue(row.requested)) {
    if (Number(row.held) !== 1 || Number(row.debited) !== 1) {
      // Cannot happen: the statement itself fails then (unlessHeldAndDebited), before it commits anything.
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
