CREATE TABLE "products" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seller_id" uuid NOT NULL,
	"name" text NOT NULL,
	"description" text,
	"brand" text NOT NULL,
	"category" text NOT NULL,
	"price" bigint NOT NULL,
	"stock" integer NOT NULL,
	"reserved_stock" integer DEFAULT 0 NOT NULL,
	"sold_quantity" integer DEFAULT 0 NOT NULL,
	"units_stocked" integer NOT NULL,
	"low_stock_threshold" integer DEFAULT 5 NOT NULL,
	"discontinued_at" timestamp (3) with time zone,
	"version" integer DEFAULT 1 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"category_key" text GENERATED ALWAYS AS (lower(category)) STORED NOT NULL,
	"brand_key" text GENERATED ALWAYS AS (lower(brand)) STORED NOT NULL,
	"status" text GENERATED ALWAYS AS (CASE
          WHEN discontinued_at IS NOT NULL THEN 'DISCONTINUED'
          WHEN stock > low_stock_threshold THEN 'AVAILABLE'
          WHEN stock > 0 THEN 'LOW_STOCK'
          WHEN reserved_stock > 0 THEN 'RESERVED'
          WHEN sold_quantity > 0 THEN 'SOLD'
          ELSE 'OUT_OF_STOCK'
        END) STORED NOT NULL,
	CONSTRAINT "products_price_positive" CHECK ("products"."price" >= 1),
	CONSTRAINT "products_counts_non_negative" CHECK ("products"."stock" >= 0 AND "products"."reserved_stock" >= 0 AND "products"."sold_quantity" >= 0),
	CONSTRAINT "products_threshold_non_negative" CHECK ("products"."low_stock_threshold" >= 0),
	CONSTRAINT "products_units_accounted" CHECK ("products"."stock" + "products"."reserved_stock" + "products"."sold_quantity" = "products"."units_stocked")
);
--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_seller_id_users_id_fk" FOREIGN KEY ("seller_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "products_newest" ON "products" USING btree ("created_at","id");--> statement-breakpoint
CREATE INDEX "products_price" ON "products" USING btree ("price","id");--> statement-breakpoint
CREATE INDEX "products_popular" ON "products" USING btree ("sold_quantity","id");--> statement-breakpoint
CREATE INDEX "products_category_newest" ON "products" USING btree ("category_key","created_at","id");--> statement-breakpoint
CREATE INDEX "products_category_price" ON "products" USING btree ("category_key","price","id");--> statement-breakpoint
CREATE INDEX "products_brand_newest" ON "products" USING btree ("brand_key","created_at","id");--> statement-breakpoint
CREATE INDEX "products_brand_price" ON "products" USING btree ("brand_key","price","id");--> statement-breakpoint
CREATE INDEX "products_status_newest" ON "products" USING btree ("status","created_at","id");--> statement-breakpoint
CREATE INDEX "products_seller" ON "products" USING btree ("seller_id");--> statement-breakpoint
CREATE INDEX "products_name_trgm" ON "products" USING gin ("name" gin_trgm_ops);