CREATE TABLE "product_sales_daily" (
	"sales_day" date NOT NULL,
	"product_id" uuid NOT NULL,
	"category" text NOT NULL,
	"seller_id" uuid NOT NULL,
	"quantity" integer DEFAULT 0 NOT NULL,
	"sales_amount" bigint DEFAULT 0 NOT NULL,
	"order_lines" integer DEFAULT 0 NOT NULL,
	"orders" integer DEFAULT 0 NOT NULL,
	"seller_orders" integer DEFAULT 0 NOT NULL,
	"category_orders" integer DEFAULT 0 NOT NULL,
	"seller_category_orders" integer DEFAULT 0 NOT NULL,
	CONSTRAINT "product_sales_daily_sales_day_product_id_category_pk" PRIMARY KEY("sales_day","product_id","category"),
	CONSTRAINT "product_sales_daily_non_negative" CHECK ("product_sales_daily"."quantity" >= 0 AND "product_sales_daily"."sales_amount" >= 0 AND "product_sales_daily"."order_lines" >= 0 AND "product_sales_daily"."orders" >= 0 AND "product_sales_daily"."seller_orders" >= 0 AND "product_sales_daily"."category_orders" >= 0 AND "product_sales_daily"."seller_category_orders" >= 0)
);
--> statement-breakpoint
ALTER TABLE "product_sales_daily" ADD CONSTRAINT "product_sales_daily_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "product_sales_daily" ADD CONSTRAINT "product_sales_daily_seller_id_users_id_fk" FOREIGN KEY ("seller_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "product_sales_daily_ranking" ON "product_sales_daily" USING btree ("sales_day","product_id","quantity","sales_amount");--> statement-breakpoint
CREATE INDEX "product_sales_daily_seller" ON "product_sales_daily" USING btree ("seller_id","sales_day");