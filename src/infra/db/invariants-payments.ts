import { type SQL, sql } from "drizzle-orm";
import { REFUNDABLE_STATUSES } from "../../domain/orders/order-status";
import { PAYMENT_MACHINE, PAYMENT_STATUSES } from "../../domain/payments/payment-status";
import { LEGACY_CHARGE_WINDOW_SECONDS } from "./repositories/payment-repository";

/** How long after its send window a payment of unknown outcome may wait for the recovery job (contract: 30 s). */
export const SETTLE_AFTER_WINDOW_SECONDS = 30;

const list = (values: readonly string[], type: string) =>
  sql.join(
    values.map((value) => sql`${value}::${sql.raw(type)}`),
    sql`, `,
  );

/**
 * The payment rules of `bun run invariants` (issue 16): what a dead process, a late gateway answer or a
 * double settle would leave behind. `ordersInScope` limits them to orders (`o`) as the other rules do.
 */
export function paymentRules(ordersInScope: SQL): [string, SQL][] {
  const final = list(
    PAYMENT_STATUSES.filter((status) => PAYMENT_MACHINE.isFinal(status)),
    "payment_status",
  );
  const paid = list(REFUNDABLE_STATUSES, "order_status");
  return [
    [
      "a payment of unknown outcome is settled within 30 s of its send window closing",
      // Past the window a 404 is final, so only a gateway that keeps saying PENDING (or cannot be asked) leaves
      // one here: a person should know. Windows of payments sent before they were kept: see payment-repository.
      sql`select p.id, p.order_id, p.charge_window_ends_at, p.checks from payments p join orders o on o.id = p.order_id
          where ${ordersInScope} and p.status = 'GATEWAY_REQUESTED'
            and coalesce(p.charge_window_ends_at, p.updated_at + ${LEGACY_CHARGE_WINDOW_SECONDS} * interval '1 second')
              + ${SETTLE_AFTER_WINDOW_SECONDS} * interval '1 second' < clock_timestamp()`,
    ],
    [
      "an order is held only by a payment in flight: an unpaid order's final payment let it go or paid it",
      sql`select o.id, o.status, p.id as payment_id, p.status as payment_status from orders o
          join payments p on p.id = o.payment_id
          where ${ordersInScope} and o.status = 'CREATED' and p.status in (${final})`,
    ],
    [
      "a REVERSAL gives back exactly the debit of a FAILED payment, once",
      // A declined (or never received) payment's debit is undone by a REVERSAL of that payment, never a REFUND
      // (ledger rows written before REVERSAL existed are REFUNDs, and are left alone here).
      sql`select l.reference_id, count(*) as reversals, min(p.status::text) as status, sum(l.amount) as amount
          from balance_ledger l left join payments p on p.id::text = l.reference_id
          left join orders o on o.id = p.order_id
          where l.type = 'REVERSAL' and (o.id is null or ${ordersInScope})
          group by l.reference_id
          having count(*) <> 1 or bool_or(p.id is null) or min(p.status::text) <> 'FAILED'
            or sum(l.amount) <> min(p.amount)`,
    ],
    [
      "a paid order is held by its COMPLETED payment",
      sql`select o.id, o.status, o.payment_id, p.status as payment_status from orders o
          left join payments p on p.id = o.payment_id
          where ${ordersInScope} and o.status in (${paid}) and (p.id is null or p.status <> 'COMPLETED')`,
    ],
  ];
}
