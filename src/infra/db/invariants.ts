import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "./client";
import { paymentRules } from "./invariants-payments";
import { refundRules } from "./refund-invariants";
import { returnRules } from "./return-invariants";

export interface Violation {
  rule: string;
  detail: string;
}

const uuids = (ids: string[]) =>
  sql`(${sql.join(
    ids.map((id) => sql`${id}::uuid`),
    sql`, `,
  )})`;

/**
 * The books must balance, whatever ran concurrently. Each rule is one query; a row is a violation.
 * `productIds` limits the rules to those products and the orders (and coupons) that hold them: tests that
 * move stock outside orders leave others that no order explains.
 */
export async function checkInvariants(db: Database, options: { productIds?: string[] } = {}): Promise<Violation[]> {
  const ids = options.productIds;
  const inScope = ids === undefined ? sql`true` : ids.length === 0 ? sql`false` : sql`p.id in ${uuids(ids)}`;
  const ordersInScope =
    ids === undefined
      ? sql`true`
      : ids.length === 0
        ? sql`false`
        : sql`o.id in (select order_id from order_items where product_id in ${uuids(ids)})`;
  const rules: [string, ReturnType<typeof sql>][] = [
    [
      "stock + reserved + sold + awaiting return + written off = units stocked",
      sql`select p.id, p.stock, p.reserved_stock, p.sold_quantity, p.awaiting_return, p.written_off, p.units_stocked
          from products p where ${inScope}
            and p.stock + p.reserved_stock + p.sold_quantity + p.awaiting_return + p.written_off <> p.units_stocked`,
    ],
    [
      "counters are never negative",
      sql`select p.id from products p where ${inScope} and (p.stock < 0 or p.reserved_stock < 0 or p.sold_quantity < 0
            or p.awaiting_return < 0 or p.written_off < 0)`,
    ],
    [
      "reserved stock = units in unpaid (CREATED) orders",
      sql`select p.id, p.reserved_stock, coalesce(sum(i.quantity) filter (where o.status = 'CREATED'), 0) as held
          from products p left join order_items i on i.product_id = p.id left join orders o on o.id = i.order_id
          where ${inScope} group by p.id
          having p.reserved_stock <> coalesce(sum(i.quantity) filter (where o.status = 'CREATED'), 0)`,
    ],
    [
      "sold quantity = units in paid orders that were not refunded in full",
      sql`select p.id, p.sold_quantity from products p
          left join order_items i on i.product_id = p.id left join orders o on o.id = i.order_id
          where ${inScope} group by p.id
          having p.sold_quantity <> coalesce(sum(i.quantity) filter (
            where o.status in ('CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED')), 0)`,
    ],
    [
      // Kept by triggers (migration 0030); a row missing or behind would put the product out of place in `sort=popular`.
      "the popularity sort holds each product's units sold",
      sql`select p.id, p.sold_quantity, pp.sold_quantity as ranked from products p
          left join product_popularity pp on pp.product_id = p.id
          where ${inScope} and pp.sold_quantity is distinct from p.sold_quantity`,
    ],
    [
      "a cancelled order holds no stock and no payment in flight",
      sql`select o.id from orders o where ${ordersInScope} and o.status = 'CANCELLED' and o.paid_amount > o.refunded_amount`,
    ],
    [
      "a USED coupon is applied to exactly one live order, and that is the order it names",
      sql`select uc.id, uc.order_id, count(o.id) as live_orders from user_coupons uc
          left join orders o on o.user_coupon_id = uc.id and o.coupon_applied and o.status <> 'CANCELLED'
          where uc.status = 'USED' and ${ids === undefined ? sql`true` : sql`uc.order_id in (select o.id from orders o where ${ordersInScope})`}
          group by uc.id, uc.order_id
          having count(o.id) <> 1 or bool_or(o.id <> uc.order_id)`,
    ],
    [
      "a live order's applied coupon is USED by it",
      sql`select o.id, uc.status from orders o join user_coupons uc on uc.id = o.user_coupon_id
          where ${ordersInScope} and o.coupon_applied and o.status <> 'CANCELLED'
            and (uc.status <> 'USED' or uc.order_id <> o.id)`,
    ],
    [
      "every balance equals the sum of its ledger",
      sql`select b.user_id, b.balance, coalesce(sum(l.amount), 0) as ledger from balances b
          left join balance_ledger l on l.user_id = b.user_id group by b.user_id, b.balance
          having b.balance <> coalesce(sum(l.amount), 0)`,
    ],
    [
      // ORDER_CREATED is written by the order's own statement from the order as the service worked it out before
      // writing it (order-repository.ts, place): it must say what was written.
      "an order has at most one ORDER_CREATED, naming its buyer, total and time as written",
      sql`select o.id, count(*) as events from orders o
          join order_events e on e.aggregate_id = o.id and e.type = 'ORDER_CREATED'
          where ${ordersInScope} group by o.id
          having count(*) > 1
            or bool_or(e.payload->>'userId' is distinct from o.user_id::text
              or (e.payload->>'totalAmount')::bigint is distinct from o.total_amount
              or abs(extract(epoch from (e.payload->>'createdAt')::timestamptz - o.created_at)) >= 0.001)`,
    ],
    [
      "an order is paid by exactly one COMPLETED payment of its total, with one PAYMENT_COMPLETED event",
      sql`select o.id, o.paid_amount, count(distinct p.id) as completed, count(distinct e.id) as events from orders o
          left join payments p on p.order_id = o.id and p.status = 'COMPLETED'
          left join order_events e on e.aggregate_id = o.id and e.type = 'PAYMENT_COMPLETED'
          where ${ordersInScope} group by o.id, o.paid_amount
          having count(distinct p.id) <> (case when o.paid_amount > 0 or bool_or(o.paid_at is not null) then 1 else 0 end)
            or count(distinct e.id) <> count(distinct p.id)
            or coalesce(max(p.amount), 0) <> o.paid_amount`,
    ],
    [
      "a payment's debit is either standing (COMPLETED or in flight) or restored (FAILED after the debit)",
      sql`select p.id, p.status, coalesce(sum(l.amount), 0) as net from payments p
          left join balance_ledger l on l.reference_id = p.id::text
          join orders o on o.id = p.order_id
          where ${ordersInScope} group by p.id, p.status, p.amount
          having coalesce(sum(l.amount), 0) <> case
            when p.status in ('COMPLETED', 'GATEWAY_REQUESTED', 'DEBITED') then -p.amount else 0 end`,
    ],
    [
      "refunded and held amounts match the order's refunds",
      sql`select o.id, o.refunded_amount, o.refund_pending_amount from orders o left join refunds r on r.order_id = o.id
          where ${ordersInScope} group by o.id, o.refunded_amount, o.refund_pending_amount
          having o.refunded_amount <> coalesce(sum(r.amount) filter (where r.status = 'REFUNDED'), 0)
            or o.refund_pending_amount <> coalesce(sum(r.amount) filter (where r.status <> 'REFUNDED'), 0)`,
    ],
    [
      "order totals add up (lines, discount shares)",
      sql`select o.id from orders o join order_items i on i.order_id = o.id where ${ordersInScope} group by o.id
          having sum(i.line_total) <> o.subtotal or sum(i.discount_share) <> o.discount_amount`,
    ],
    [
      "an order's refunds are taken from its lines, none beyond what the line was paid",
      sql`select o.id, o.refunded_amount, sum(i.refunded_amount) as lines from orders o join order_items i on i.order_id = o.id
          where ${ordersInScope} group by o.id, o.refunded_amount
          having sum(i.refunded_amount) <> o.refunded_amount
            or bool_or(i.refunded_amount > i.line_total - i.discount_share)`,
    ],
    [
      "daily sales hold each product's units sold and its live paid order lines",
      sql`select p.id, p.sold_quantity, s.quantity, s.order_lines, i.lines from products p
          left join (select product_id, sum(quantity) as quantity, sum(order_lines) as order_lines
                     from product_sales_daily group by product_id) s on s.product_id = p.id
          left join (select i.product_id, count(*) as lines from order_items i join orders o on o.id = i.order_id
                     where o.status in ('CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED')
                     group by i.product_id) i on i.product_id = p.id
          where ${inScope} and (p.sold_quantity <> coalesce(s.quantity, 0)
            or coalesce(s.order_lines, 0) <> coalesce(i.lines, 0))`,
    ],
    ...paymentRules(ordersInScope),
    ...refundRules(ordersInScope),
    ...returnRules(inScope, ordersInScope),
    // Amounts and order counts are split over products and days, so they are checked over the whole shop.
    ...(ids === undefined ? wholeShopSalesRules() : []),
  ];
  const violations: Violation[] = [];
  for (const [rule, query] of rules) {
    for (const row of rowsOf<Record<string, unknown>>(await db.execute(query))) {
      violations.push({ rule, detail: JSON.stringify(row) });
    }
  }
  return violations;
}

/** Seoul day of a moment, in SQL (fixed UTC+9, as src/domain/sales/seoul-days.ts). */
const seoulDay = (column: ReturnType<typeof sql>) => sql`((${column} at time zone 'UTC') + interval '9 hours')::date`;

function wholeShopSalesRules(): [string, ReturnType<typeof sql>][] {
  return [
    [
      "daily sales add up to what was paid less what was refunded",
      sql`select (select coalesce(sum(sales_amount), 0) from product_sales_daily) as rollup,
                 (select coalesce(sum(paid_amount - refunded_amount), 0) from orders) as books
          where (select coalesce(sum(sales_amount), 0) from product_sales_daily)
             <> (select coalesce(sum(paid_amount - refunded_amount), 0) from orders)`,
    ],
    [
      "each Seoul day counts its live paid orders once",
      sql`select coalesce(s.day, o.day) as day, s.orders, o.orders as paid from
            (select sales_day as day, sum(orders) as orders from product_sales_daily group by sales_day) s
          full join
            (select ${seoulDay(sql`paid_at`)} as day, count(*) as orders from orders
             where status in ('CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED') group by 1) o
          on o.day = s.day
          where coalesce(s.orders, 0) <> coalesce(o.orders, 0)`,
    ],
    [
      // A payment's completion computes these counts in SQL (sales-repository.ts, paidSalesCte), apart from
      // salesOfPayment: each seller, category and seller's category counts an order on one line only.
      "each Seoul day counts each seller's, category's and seller's category's live paid orders once",
      sql`select coalesce(s.day, o.day) as day, coalesce(s.grouping, o.grouping) as grouping, s.orders,
            o.orders as paid from
            (select sales_day as day, 'seller:' || seller_id as grouping, sum(seller_orders) as orders
               from product_sales_daily group by 1, 2
             union all
             select sales_day, 'category:' || category, sum(category_orders) from product_sales_daily group by 1, 2
             union all
             select sales_day, 'seller-category:' || seller_id || ':' || category, sum(seller_category_orders)
               from product_sales_daily group by 1, 2) s
          full join
            (select day, grouping, count(distinct order_id) as orders from
               (select ${seoulDay(sql`o.paid_at`)} as day, o.id as order_id, i.seller_id, i.category
                  from orders o join order_items i on i.order_id = o.id
                  where o.status in ('CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED')) line
               cross join lateral (values ('seller:' || line.seller_id), ('category:' || line.category),
                 ('seller-category:' || line.seller_id || ':' || line.category)) as g(grouping)
             group by 1, 2) o
          on o.day = s.day and o.grouping = s.grouping
          where coalesce(s.orders, 0) <> coalesce(o.orders, 0)`,
    ],
  ];
}
