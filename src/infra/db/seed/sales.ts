import { sql } from "drizzle-orm";
import { type Database, rowsOf } from "../client";

export const SEED_BUYERS = 1000;
export const SEED_BUYER_EMAILS = "seed-buyer-%@seed.kicks";

/**
 * `count` paid orders over the last `days` days, generated inside PostgreSQL (set-based INSERT … SELECT,
 * no round trip per row) with the books a real checkout leaves: the orders and their lines (1–3 products,
 * popular products far more often, as drops go), a COMPLETED payment each with its PAYMENT_COMPLETED event
 * (already delivered), the buyer's charge and debit in the ledger, the products' sold units, and the daily
 * sales rollup — so the invariants hold on a seeded database. Orders older than a week are COMPLETED, the
 * rest CONFIRMED. Deterministic for a given catalogue (setseed). Returns the number of order lines.
 */
export async function seedPaidOrders(db: Database, count: number, passwordHash: string, days = 30): Promise<number> {
  return db.transaction(async (tx) => {
    const run = (query: ReturnType<typeof sql>) => tx.execute(query);
    await run(sql`select setseed(0.42)`);
    await run(sql`insert into users (id, email, password_hash, name, role)
      select gen_random_uuid(), 'seed-buyer-' || lpad(g::text, 4, '0') || '@seed.kicks', ${passwordHash},
             'Seed Buyer ' || g, 'BUYER'
      from generate_series(1, ${SEED_BUYERS}) g`);
    await run(sql`insert into balances (user_id) select id from users where email like ${SEED_BUYER_EMAILS}`);
    await run(sql`create temp table seed_products on commit drop as
      select row_number() over (order by created_at, id) as n, id, seller_id, name, category, price
      from products where discontinued_at is null`);
    await run(sql`create temp table seed_buyers on commit drop as
      select row_number() over (order by email) as n, id from users where email like ${SEED_BUYER_EMAILS}`);
    await run(sql`create temp table seed_orders on commit drop as
      select gen_random_uuid() as id, gen_random_uuid() as payment_id, b.id as user_id, s.paid_at,
             case when s.r < 0.7 then 1 when s.r < 0.9 then 2 else 3 end as lines
      from (select g, random() as r, 1 + floor(random() * ${SEED_BUYERS})::int as buyer,
                   now() - random() * ${days} * interval '1 day' as paid_at
            from generate_series(1, ${count}) g) s
      join seed_buyers b on b.n = s.buyer`);
    // Picks skewed to the first products of the catalogue (n ~ P·u³): a few best sellers, a long tail.
    await run(sql`create temp table seed_lines on commit drop as
      select distinct on (pick.order_id, p.id) pick.order_id, p.id as product_id, p.seller_id, p.name, p.category,
             p.price as unit_price, pick.quantity
      from (select o.id as order_id, 1 + floor((select count(*) from seed_products) * power(random(), 3))::int as n,
                   1 + floor(random() * 2)::int as quantity
            from seed_orders o cross join lateral generate_series(1, o.lines)) pick
      join seed_products p on p.n = pick.n`);
    await run(sql`create temp table seed_totals on commit drop as
      select order_id, sum(unit_price * quantity)::bigint as total from seed_lines group by order_id`);

    await run(sql`insert into orders (id, user_id, status, subtotal, discount_amount, total_amount, payment_id,
        paid_amount, expires_at, paid_at, shipped_at, version, created_at, updated_at)
      select o.id, o.user_id,
             (case when o.paid_at < now() - interval '7 days' then 'COMPLETED' else 'CONFIRMED' end)::order_status,
             t.total, 0, t.total, o.payment_id, t.total, o.paid_at + interval '9 minutes', o.paid_at,
             (case when o.paid_at < now() - interval '7 days' then o.paid_at + interval '1 day' end), 2,
             o.paid_at - interval '1 minute', o.paid_at
      from seed_orders o join seed_totals t on t.order_id = o.id`);
    await run(sql`insert into order_items (id, order_id, product_id, seller_id, product_name, category, unit_price,
        quantity, line_total, discount_share)
      select gen_random_uuid(), order_id, product_id, seller_id, name, category, unit_price, quantity,
             unit_price * quantity, 0
      from seed_lines`);
    await run(sql`insert into payments (id, order_id, user_id, amount, status, gateway_transaction_id, created_at, updated_at)
      select o.payment_id, o.id, o.user_id, t.total, 'COMPLETED', 'seed-' || o.payment_id, o.paid_at, o.paid_at
      from seed_orders o join seed_totals t on t.order_id = o.id`);
    await run(sql`insert into payment_status_history (payment_id, status, at)
      select payment_id, 'COMPLETED', paid_at from seed_orders`);
    await run(sql`insert into order_events (id, aggregate_id, type, payload, status, attempts, created_at, sent_at)
      select gen_random_uuid(), o.id, 'PAYMENT_COMPLETED',
             jsonb_build_object('id', o.payment_id, 'orderId', o.id, 'amount', t.total, 'status', 'COMPLETED', 'seeded', true),
             'SENT', 1, o.paid_at, o.paid_at
      from seed_orders o join seed_totals t on t.order_id = o.id order by o.paid_at`);
    // Each order: the buyer charged exactly its total, then debited it (versions gap-free per buyer).
    await run(sql`insert into balance_ledger (id, user_id, type, amount, balance_after, balance_version, reference_id, created_at)
      select gen_random_uuid(), user_id, kind::ledger_entry_type,
             case when kind = 'CHARGE' then total else -total end, case when kind = 'CHARGE' then total else 0 end,
             2 * k - case when kind = 'CHARGE' then 1 else 0 end,
             case when kind = 'CHARGE' then null else payment_id::text end, paid_at
      from (select o.user_id, o.payment_id, o.paid_at, t.total,
                   row_number() over (partition by o.user_id order by o.paid_at, o.id) as k
            from seed_orders o join seed_totals t on t.order_id = o.id) paid
      cross join (values ('CHARGE'), ('PAYMENT')) as kinds(kind)`);
    await run(sql`update balances b set version = b.version + 2 * n.orders, updated_at = now()
      from (select user_id, count(*) as orders from seed_orders group by user_id) n where n.user_id = b.user_id`);
    await run(sql`update products p set sold_quantity = p.sold_quantity + s.units, units_stocked = p.units_stocked + s.units
      from (select product_id, sum(quantity) as units from seed_lines group by product_id) s where s.product_id = p.id`);
    await run(sql`insert into product_sales_daily (sales_day, product_id, category, seller_id, quantity, sales_amount,
        order_lines, orders, seller_orders, category_orders, seller_category_orders)
      select day, product_id, category, seller_id, sum(quantity), sum(unit_price * quantity), count(*),
             count(*) filter (where first_of_order), count(*) filter (where first_of_seller),
             count(*) filter (where first_of_category), count(*) filter (where first_of_seller_category)
      from (select ((o.paid_at at time zone 'UTC') + interval '9 hours')::date as day, l.*,
                   row_number() over (partition by l.order_id order by l.product_id) = 1 as first_of_order,
                   row_number() over (partition by l.order_id, l.seller_id order by l.product_id) = 1 as first_of_seller,
                   row_number() over (partition by l.order_id, l.category order by l.product_id) = 1 as first_of_category,
                   row_number() over (partition by l.order_id, l.seller_id, l.category order by l.product_id) = 1
                     as first_of_seller_category
            from seed_lines l join seed_orders o on o.id = l.order_id) line
      group by day, product_id, category, seller_id
      on conflict (sales_day, product_id, category) do update set
        quantity = product_sales_daily.quantity + excluded.quantity,
        sales_amount = product_sales_daily.sales_amount + excluded.sales_amount,
        order_lines = product_sales_daily.order_lines + excluded.order_lines,
        orders = product_sales_daily.orders + excluded.orders,
        seller_orders = product_sales_daily.seller_orders + excluded.seller_orders,
        category_orders = product_sales_daily.category_orders + excluded.category_orders,
        seller_category_orders = product_sales_daily.seller_category_orders + excluded.seller_category_orders`);
    const [lines] = rowsOf<{ n: number }>(await run(sql`select count(*)::int as n from seed_lines`));
    return lines?.n ?? 0;
  });
}
