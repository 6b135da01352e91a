CREATE TYPE "public"."return_condition" AS ENUM('RESELLABLE', 'DAMAGED');--> statement-breakpoint
CREATE TABLE "order_return_items" (
	"return_id" uuid NOT NULL,
	"product_id" uuid NOT NULL,
	"condition" "return_condition" NOT NULL,
	"quantity" integer NOT NULL,
	CONSTRAINT "order_return_items_return_id_product_id_condition_pk" PRIMARY KEY("return_id","product_id","condition"),
	CONSTRAINT "order_return_items_quantity" CHECK ("order_return_items"."quantity" >= 1)
);
--> statement-breakpoint
CREATE TABLE "order_returns" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"recorded_by" uuid NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "products" DROP CONSTRAINT "products_counts_non_negative";--> statement-breakpoint
ALTER TABLE "products" DROP CONSTRAINT "products_units_accounted";--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "awaiting_return" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "returned_quantity" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "order_items" ADD COLUMN "written_off_quantity" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "awaiting_return" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "products" ADD COLUMN "written_off" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "order_return_items" ADD CONSTRAINT "order_return_items_return_id_order_returns_id_fk" FOREIGN KEY ("return_id") REFERENCES "public"."order_returns"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_return_items" ADD CONSTRAINT "order_return_items_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_returns" ADD CONSTRAINT "order_returns_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_returns" ADD CONSTRAINT "order_returns_recorded_by_users_id_fk" FOREIGN KEY ("recorded_by") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "order_returns_order" ON "order_returns" USING btree ("order_id","created_at");--> statement-breakpoint
ALTER TABLE "order_items" ADD CONSTRAINT "order_items_returns" CHECK ("order_items"."awaiting_return" >= 0 AND "order_items"."returned_quantity" >= 0 AND "order_items"."written_off_quantity" >= 0
        AND "order_items"."awaiting_return" + "order_items"."returned_quantity" + "order_items"."written_off_quantity" <= "order_items"."quantity");--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_counts_non_negative" CHECK ("products"."stock" >= 0 AND "products"."reserved_stock" >= 0 AND "products"."sold_quantity" >= 0 AND "products"."awaiting_return" >= 0 AND "products"."written_off" >= 0);--> statement-breakpoint
ALTER TABLE "products" ADD CONSTRAINT "products_units_accounted" CHECK ("products"."stock" + "products"."reserved_stock" + "products"."sold_quantity" + "products"."awaiting_return" + "products"."written_off" = "products"."units_stocked");