-- Custom SQL migration file, put your code below! --
-- Each order line's part of the refunds landed before lines kept it (0016): the order's refunded amount split
-- over its lines by what each was paid, in whole won by largest remainder (earlier product ids first on
-- ties) — the split 0015 took off the daily sales, so the two agree and later refunds split what is left.
WITH lines AS (
  SELECT i.id, i.order_id, i.product_id, (i.line_total - i.discount_share)::numeric AS paid, o.refunded_amount
  FROM order_items i JOIN orders o ON o.id = i.order_id
  WHERE o.refunded_amount > 0
), shares AS (
  SELECT *,
         CASE WHEN sum(paid) OVER w > 0 THEN div(paid * refunded_amount, sum(paid) OVER w) ELSE 0 END AS base,
         CASE WHEN sum(paid) OVER w > 0 THEN mod(paid * refunded_amount, sum(paid) OVER w) ELSE 0 END AS remainder
  FROM lines
  WINDOW w AS (PARTITION BY order_id)
), split AS (
  SELECT id,
         base + CASE WHEN row_number() OVER (PARTITION BY order_id ORDER BY remainder DESC, product_id)
                          <= least(refunded_amount, sum(paid) OVER (PARTITION BY order_id)) - sum(base) OVER (PARTITION BY order_id)
                     THEN 1 ELSE 0 END AS refunded
  FROM shares
)
UPDATE "order_items" SET "refunded_amount" = split.refunded FROM split WHERE "order_items"."id" = split.id;
