-- Custom SQL migration file, put your code below! --
-- The sales of orders paid before the daily rollup existed (0014), so that their refunds have rows to take
-- back from and statistics cover them. The same rules as src/domain/sales/sales-deltas.ts: each paid line on
-- the Seoul day (UTC+9) it was paid, at its total less its discount share, less its part of what was refunded
-- (split by what each line was paid, whole won by largest remainder, earlier product ids first on ties);
-- orders counted once on their first line (by product id) overall, per seller, category, seller + category.
WITH lines AS (
  SELECT o.id AS order_id, o.paid_at, o.paid_amount, o.refunded_amount,
         i.product_id, i.category, i.seller_id, i.quantity, (i.line_total - i.discount_share)::numeric AS paid,
         row_number() OVER (PARTITION BY o.id ORDER BY i.product_id) = 1 AS first_of_order,
         row_number() OVER (PARTITION BY o.id, i.seller_id ORDER BY i.product_id) = 1 AS first_of_seller,
         row_number() OVER (PARTITION BY o.id, i.category ORDER BY i.product_id) = 1 AS first_of_category,
         row_number() OVER (PARTITION BY o.id, i.seller_id, i.category ORDER BY i.product_id) = 1 AS first_of_seller_category
  FROM orders o JOIN order_items i ON i.order_id = o.id
  WHERE o.status IN ('CONFIRMED', 'PREPARING', 'SHIPPED', 'DELIVERED', 'COMPLETED') AND o.paid_at IS NOT NULL
), shares AS (
  SELECT *,
         CASE WHEN sum(paid) OVER w > 0 THEN div(paid * refunded_amount, sum(paid) OVER w) ELSE 0 END AS base,
         CASE WHEN sum(paid) OVER w > 0 THEN mod(paid * refunded_amount, sum(paid) OVER w) ELSE 0 END AS remainder
  FROM lines
  WINDOW w AS (PARTITION BY order_id)
), split AS (
  SELECT *,
         base + CASE WHEN row_number() OVER (PARTITION BY order_id ORDER BY remainder DESC, product_id)
                          <= least(refunded_amount, sum(paid) OVER (PARTITION BY order_id)) - sum(base) OVER (PARTITION BY order_id)
                     THEN 1 ELSE 0 END AS refunded
  FROM shares
)
INSERT INTO "product_sales_daily" ("sales_day", "product_id", "category", "seller_id", "quantity", "sales_amount",
  "order_lines", "orders", "seller_orders", "category_orders", "seller_category_orders")
SELECT ((paid_at AT TIME ZONE 'UTC') + interval '9 hours')::date, product_id, category, seller_id,
       sum(quantity), sum(paid - refunded), count(*),
       count(*) FILTER (WHERE first_of_order), count(*) FILTER (WHERE first_of_seller),
       count(*) FILTER (WHERE first_of_category), count(*) FILTER (WHERE first_of_seller_category)
FROM split
GROUP BY 1, 2, 3, 4
ON CONFLICT ("sales_day", "product_id", "category") DO UPDATE SET
  "quantity" = "product_sales_daily"."quantity" + excluded."quantity",
  "sales_amount" = "product_sales_daily"."sales_amount" + excluded."sales_amount",
  "order_lines" = "product_sales_daily"."order_lines" + excluded."order_lines",
  "orders" = "product_sales_daily"."orders" + excluded."orders",
  "seller_orders" = "product_sales_daily"."seller_orders" + excluded."seller_orders",
  "category_orders" = "product_sales_daily"."category_orders" + excluded."category_orders",
  "seller_category_orders" = "product_sales_daily"."seller_category_orders" + excluded."seller_category_orders";
