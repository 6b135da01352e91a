import { type SQL, sql } from "drizzle-orm";
import type {
  ReconciledPayment,
  ReconciledRefund,
  ReconciliationReader,
} from "../../../domain/payments/payment-reconciliation";
import { rowsOf } from "../client";
import type { Transactions } from "../transactions";

const uuids = (ids: readonly string[]) =>
  sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  );

/** Our side of the gateway reconciliation, read in plain SQL. */
export class DrizzleReconciliationReader implements ReconciliationReader {
  constructor(private readonly tx: Transactions) {}

  async payments(scope: { since: Date } | { orderIds: readonly string[] }): Promise<ReconciledPayment[]> {
    let orders: SQL;
    if ("since" in scope) {
      orders = sql`select order_id from payments where updated_at >= ${scope.since.toISOString()}::timestamptz`;
    } else {
      if (scope.orderIds.length === 0) return [];
      orders = sql`select unnest(array[${uuids(scope.orderIds)}])`;
    }
    // Every payment of those orders, however old: two approved charges for one order may be days apart.
    const result = await this.tx.current.execute(sql`
      select p.id, p.order_id, p.status, p.amount,
        (p.charge_window_ends_at is not null or exists (
          select 1 from payment_status_history h where h.payment_id = p.id and h.status = 'GATEWAY_REQUESTED'
        )) as reached_gateway
      from payments p where p.order_id in (${orders})
      order by p.order_id, p.created_at`);
    return rowsOf<{
      id: string;
      order_id: string;
      status: ReconciledPayment["status"];
      amount: number;
      reached_gateway: boolean;
    }>(result).map((row) => ({
      id: row.id,
      orderId: row.order_id,
      status: row.status,
      amount: Number(row.amount),
      reachedGateway: row.reached_gateway,
    }));
  }

  async refunds(since: Date): Promise<ReconciledRefund[]> {
    const result = await this.tx.current.execute(sql`
      select r.id, r.order_id, r.status, r.amount,
        coalesce(sum(l.amount) filter (where l.type = 'REFUND'), 0) as credited
      from refunds r left join balance_ledger l on l.reference_id = r.id::text
      where r.updated_at >= ${since.toISOString()}::timestamptz
      group by r.id order by r.created_at`);
    return rowsOf<{ id: string; order_id: string; status: string; amount: number; credited: number | string }>(
      result,
    ).map((row) => ({
      id: row.id,
      orderId: row.order_id,
      status: row.status,
      amount: Number(row.amount),
      credited: Number(row.credited),
    }));
  }
}
