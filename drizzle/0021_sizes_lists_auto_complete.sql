DROP INDEX "products_seller";--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "delivered_at" timestamp (3) with time zone;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "model_code" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "shoe_size" text;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "model_key" text GENERATED ALWAYS AS (lower(model_code)) STORED;--> statement-breakpoint
CREATE INDEX "orders_delivered_due" ON "orders" USING btree ("delivered_at") WHERE "orders"."status" = 'DELIVERED';--> statement-breakpoint
CREATE INDEX "products_seller_newest" ON "products" USING btree ("seller_id","created_at","id");--> statement-breakpoint
CREATE UNIQUE INDEX "products_seller_sku" ON "products" USING btree ("seller_id","model_key","shoe_size") WHERE "products"."model_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "products_model" ON "products" USING btree ("model_key") WHERE "products"."model_key" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_model_and_size" CHECK (("products"."model_code" IS NULL) = ("products"."shoe_size" IS NULL));