CREATE TABLE "product_popularity" (
	"product_id" uuid PRIMARY KEY NOT NULL,
	"sold_quantity" integer NOT NULL
);
--> statement-breakpoint
DROP INDEX "products_popular";--> statement-breakpoint
ALTER TABLE "product_popularity" ADD CONSTRAINT "product_popularity_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "product_popularity_rank" ON "product_popularity" USING btree ("sold_quantity","product_id");