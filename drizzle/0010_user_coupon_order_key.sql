-- Custom SQL migration file, put your code below! --
-- A user coupon USED on an order points at that order. Deferred to commit: the order's transaction marks the
-- coupon USED (deciding between concurrent orders) before it inserts the order row. drizzle-kit cannot express
-- a deferrable key in the schema, hence this hand-written migration (src/infra/db/schema/coupons.ts says so).
ALTER TABLE "user_coupons" ADD CONSTRAINT "user_coupons_order_id_orders_id_fk"
  FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") DEFERRABLE INITIALLY DEFERRED;
