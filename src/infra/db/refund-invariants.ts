import { type SQL, sql } from "drizzle-orm";
import { UNFINISHED_REFUND_STATUSES } from "../../domain/refunds/refund-status";

/**
 * How long past its due time (a FAILED refund's backoff, a PROCESSING one's lease; a REFUND_REQUESTED one is
 * due when recorded) a refund may wait for a try before it counts as held for good: the retry job runs every
 * second on every instance, so a minute means no instance is finishing it.
 */
export const REFUND_OVERDUE_SECONDS = 60;

const unfinished = sql.raw(UNFINISHED_REFUND_STATUSES.map((status) => `'${status}'`).join(", "));

/**
 * The refund rules of `bun run invariants` (see checkInvariants; `ordersInScope` filters orders `o`): every
 * recorded refund reaches REFUNDED or MANUAL on its own, and one keyed request makes one refund.
 */
export function refundRules(ordersInScope: SQL): [string, SQL][] {
  return [
    [
      "a refund not final is tried again by its due time (none held past its lease or backoff)",
      sql`select r.id, r.order_id, r.status, r.attempts, r.next_attempt_at, r.created_at from refunds r
          join orders o on o.id = r.order_id
          where ${ordersInScope} and r.status in (${unfinished})
            and coalesce(r.next_attempt_at, r.created_at)
              < clock_timestamp() - ${REFUND_OVERDUE_SECONDS} * interval '1 second'`,
    ],
    [
      "one refund request (requester and Idempotency-Key) makes one refund, the one its stored answer names",
      sql`select r.requested_by, r.idempotency_key, count(distinct r.id) as refunds,
                 min(k.response_body::jsonb ->> 'id') as answered
          from refunds r join orders o on o.id = r.order_id
          left join idempotency_keys k on k.scope = r.requested_by::text and k.method = 'POST'
            and k.path = '/api/v1/refunds' and k.key = r.idempotency_key and k.response_status = 201
          where ${ordersInScope} and r.idempotency_key is not null
          group by r.requested_by, r.idempotency_key
          having count(distinct r.id) > 1
            or bool_or(k.response_body is not null and k.response_body::jsonb ->> 'id' <> r.id::text)`,
    ],
    [
      // What reconcile:payments calls REFUNDED_NOT_CREDITED, checked here too: a landed refund whose credit went
      // missing (or went twice, or to someone else) leaves every balance equal to its ledger and every order
      // equal to its refunds. A refund of 0 (an order paid in full by a coupon) credits nothing.
      "a REFUNDED refund is credited once, exactly its amount, to its buyer; no refund not REFUNDED is credited",
      sql`select r.id, r.status, r.amount, count(l.id) as credits, coalesce(sum(l.amount), 0) as credited
          from refunds r join orders o on o.id = r.order_id
          left join balance_ledger l on l.reference_id = r.id::text and l.type = 'REFUND' and l.user_id = r.user_id
          where ${ordersInScope}
          group by r.id, r.status, r.amount
          having count(l.id) <> case when r.status = 'REFUNDED' and r.amount > 0 then 1 else 0 end
            or coalesce(sum(l.amount), 0) <> case when r.status = 'REFUNDED' then r.amount else 0 end`,
    ],
    [
      // Ledger rows written before REVERSAL existed gave a failed payment's debit back as a REFUND of it.
      "every REFUND in a buyer's ledger names a refund of theirs (or, before REVERSAL, a failed payment)",
      sql`select l.id, l.user_id, l.amount, l.reference_id from balance_ledger l
          where l.type = 'REFUND' and l.user_id in (select o.user_id from orders o where ${ordersInScope})
            and not exists (select 1 from refunds r where r.id::text = l.reference_id and r.user_id = l.user_id)
            and not exists (select 1 from payments p where p.id::text = l.reference_id and p.user_id = l.user_id
                              and p.status = 'FAILED')`,
    ],
  ];
}
