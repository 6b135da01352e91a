import { type SQL, sql } from "drizzle-orm";

/**
 * The return rules of `bun run invariants` (contract: Returns; see checkInvariants for the scopes: `inScope`
 * filters products `p`, `ordersInScope` orders `o`). A refund in full after shipping moves an order's units
 * from sold to awaiting return, on the products and on the order's lines; recorded returns move them on to
 * stock or written off. These rules tie the products' counters to the lines and the recorded returns.
 */
export function returnRules(inScope: SQL, ordersInScope: SQL): [string, SQL][] {
  return [
    [
      "units awaiting return = the awaited units of cancelled orders' lines",
      sql`select p.id, p.awaiting_return, coalesce(sum(i.awaiting_return), 0) as lines from products p
          left join order_items i on i.product_id = p.id
          where ${inScope} group by p.id, p.awaiting_return
          having p.awaiting_return <> coalesce(sum(i.awaiting_return), 0)`,
    ],
    [
      "units written off = the DAMAGED units of recorded returns",
      sql`select p.id, p.written_off, coalesce(sum(ri.quantity), 0) as damaged from products p
          left join order_return_items ri on ri.product_id = p.id and ri.condition = 'DAMAGED'
          where ${inScope} group by p.id, p.written_off
          having p.written_off <> coalesce(sum(ri.quantity), 0)`,
    ],
    [
      "a line's returned and written-off units are those its order's recorded returns name",
      sql`select i.order_id, i.product_id, i.returned_quantity, i.written_off_quantity, r.resellable, r.damaged
          from order_items i join orders o on o.id = i.order_id
          left join (select r.order_id, ri.product_id,
                            sum(ri.quantity) filter (where ri.condition = 'RESELLABLE') as resellable,
                            sum(ri.quantity) filter (where ri.condition = 'DAMAGED') as damaged
                     from order_returns r join order_return_items ri on ri.return_id = r.id
                     group by r.order_id, ri.product_id) r on r.order_id = i.order_id and r.product_id = i.product_id
          where ${ordersInScope}
            and (i.returned_quantity <> coalesce(r.resellable, 0) or i.written_off_quantity <> coalesce(r.damaged, 0))`,
    ],
    [
      "only a cancelled order awaits returns, and then for every unit of its lines not yet recorded",
      sql`select o.id, o.status, i.product_id, i.quantity, i.awaiting_return, i.returned_quantity, i.written_off_quantity
          from orders o join order_items i on i.order_id = o.id
          where ${ordersInScope} and i.awaiting_return + i.returned_quantity + i.written_off_quantity > 0
            and (o.status <> 'CANCELLED'
              or i.awaiting_return + i.returned_quantity + i.written_off_quantity <> i.quantity)`,
    ],
    [
      // Which of the two the landing chose is decided by whether the order had shipped (src/domain/refunds):
      // restocking a shipped order's units sells pairs that are at the buyer's door; awaiting an unshipped
      // one's holds pairs in the warehouse off sale for good. Every count agrees either way: only this sees it.
      "an order refunded in full after it shipped awaits, or has recorded, the return of every unit; one refunded before it shipped awaits none",
      sql`select o.id, o.shipped_at, i.product_id, i.quantity, i.awaiting_return, i.returned_quantity,
                 i.written_off_quantity
          from orders o join order_items i on i.order_id = o.id
          where ${ordersInScope} and o.status = 'CANCELLED' and o.cancel_reason = 'REFUNDED'
            and case when o.shipped_at is null then i.awaiting_return + i.returned_quantity + i.written_off_quantity > 0
                     else i.awaiting_return + i.returned_quantity + i.written_off_quantity <> i.quantity end`,
    ],
    [
      "an order that shipped records when (shipped_at)",
      sql`select o.id, o.status from orders o
          where ${ordersInScope} and o.status in ('SHIPPED', 'DELIVERED', 'COMPLETED') and o.shipped_at is null`,
    ],
  ];
}
