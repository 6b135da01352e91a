-- Custom SQL migration file, put your code below! ---- product_popularity (src/infra/db/schema/products.ts) is products.sold_quantity in the order `sort=popular`
-- walks. Triggers keep it in the statement that moves the count (the sale, a refund, a return, a seed: whatever
-- writes sold_quantity), so no writer has to remember it and the list reads the counts in the same snapshot.
-- The update trigger fires only for statements that set sold_quantity (the reservation does not) and queues
-- nothing when the value is unchanged.
CREATE FUNCTION "product_popularity_insert"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "product_popularity" ("product_id", "sold_quantity") VALUES (NEW."id", NEW."sold_quantity");
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE FUNCTION "product_popularity_update"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE "product_popularity" SET "sold_quantity" = NEW."sold_quantity" WHERE "product_id" = NEW."id";
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "product_popularity_inserted" AFTER INSERT ON "products"
  FOR EACH ROW EXECUTE FUNCTION "product_popularity_insert"();--> statement-breakpoint
CREATE TRIGGER "product_popularity_sold" AFTER UPDATE OF "sold_quantity" ON "products"
  FOR EACH ROW WHEN (NEW."sold_quantity" IS DISTINCT FROM OLD."sold_quantity")
  EXECUTE FUNCTION "product_popularity_update"();--> statement-breakpoint
INSERT INTO "product_popularity" ("product_id", "sold_quantity") SELECT "id", "sold_quantity" FROM "products";--> statement-breakpoint
-- Room on each page for the new versions of its rows: an update is heap-only (no index entry) only when the new
-- version fits on the row's own page. Packed full (the default, 100), a row's first update after its page filled
-- moved it to another page and wrote an entry in all 13 indexes. New and moved rows only: the pages already full
-- stay so until a rewrite (VACUUM FULL), which this migration does not take the table's lock for.
ALTER TABLE "products" SET (fillfactor = 80);
