import { sql } from "drizzle-orm";
import { check, index, integer, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { at, krw } from "./columns";
import { users } from "./users";

export const products = pgTable(
  "products",
  {
    id: uuid().primaryKey(),
    sellerId: uuid()
      .notNull()
      .references(() => users.id),
    name: text().notNull(),
    description: text(),
    brand: text().notNull(),
    category: text().notNull(),
    price: krw().notNull(),
    /** Units that can still be ordered. */
    stock: integer().notNull(),
    /** Units held by unpaid orders. */
    reservedStock: integer().notNull().default(0),
    /** Units in paid, not refunded orders. */
    soldQuantity: integer().notNull().default(0),
    /** Units of orders refunded in full after they shipped: with the buyer until a return is recorded. */
    awaitingReturn: integer().notNull().default(0),
    /** Units returned damaged: off the books for good. */
    writtenOff: integer().notNull().default(0),
    /**
     * Every unit the seller put on sale (net of stock corrections): stock + reserved + sold + awaiting return +
     * written off, always.
     */
    unitsStocked: integer().notNull(),
    lowStockThreshold: integer().notNull().default(5),
    /** The manufacturer's style code as the seller wrote it (e.g. DZ5485-612), and the size of this SKU. */
    modelCode: text(),
    shoeSize: text(),
    discontinuedAt: at(),
    version: integer().notNull().default(1),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
    // The contract's status rule, the same as productStatus() in src/domain/catalogue/product.ts (a test
    // checks them against each other): `?status=` filters on exactly what the rows show.
    // Case-folded copies the category and brand filters match on: plain columns (not lower() expressions),
    // so that counting a filtered list can be an index-only scan.
    categoryKey: text().notNull().generatedAlwaysAs(sql`lower(category)`),
    brandKey: text().notNull().generatedAlwaysAs(sql`lower(brand)`),
    /** The style code case-folded: model pages, the list filter and SKU uniqueness compare on it. */
    modelKey: text().generatedAlwaysAs(sql`lower(model_code)`),
    status: text()
      .notNull()
      .generatedAlwaysAs(
        sql`CASE
          WHEN discontinued_at IS NOT NULL THEN 'DISCONTINUED'
          WHEN stock > low_stock_threshold THEN 'AVAILABLE'
          WHEN stock > 0 THEN 'LOW_STOCK'
          WHEN reserved_stock > 0 THEN 'RESERVED'
          WHEN sold_quantity > 0 THEN 'SOLD'
          ELSE 'OUT_OF_STOCK'
        END`,
      ),
  },
  (t) => [
    check("products_price_positive", sql`${t.price} >= 1`),
    check(
      "products_counts_non_negative",
      sql`${t.stock} >= 0 AND ${t.reservedStock} >= 0 AND ${t.soldQuantity} >= 0 AND ${t.awaitingReturn} >= 0 AND ${t.writtenOff} >= 0`,
    ),
    check("products_threshold_non_negative", sql`${t.lowStockThreshold} >= 0`),
    check("products_model_and_size", sql`(${t.modelCode} IS NULL) = (${t.shoeSize} IS NULL)`),
    // No stock movement can create or lose a unit.
    check(
      "products_units_accounted",
      sql`${t.stock} + ${t.reservedStock} + ${t.soldQuantity} + ${t.awaitingReturn} + ${t.writtenOff} = ${t.unitsStocked}`,
    ),
    // One index per sort, and per sort within the common filters (category, brand), so every list query of
    // the contract walks an index in order and stops after one page (keyset `(sort key, id)`).
    index("products_newest").on(t.createdAt, t.id),
    index("products_price").on(t.price, t.id),
    // `popular` walks product_popularity (below), not an index of this table: see there.
    index("products_category_newest").on(t.categoryKey, t.createdAt, t.id),
    index("products_category_price").on(t.categoryKey, t.price, t.id),
    index("products_brand_newest").on(t.brandKey, t.createdAt, t.id),
    index("products_brand_price").on(t.brandKey, t.price, t.id),
    index("products_status_newest").on(t.status, t.createdAt, t.id),
    // A seller's own list, newest first (and any lookup by seller).
    index("products_seller_newest").on(t.sellerId, t.createdAt, t.id),
    // One seller sells one (model, size) once: concurrent creates of the same SKU meet here (409 SKU_TAKEN).
    uniqueIndex("products_seller_sku").on(t.sellerId, t.modelKey, t.shoeSize).where(sql`${t.modelKey} IS NOT NULL`),
    // A model page reads every offer of the model in one index scan.
    index("products_model").on(t.modelKey).where(sql`${t.modelKey} IS NOT NULL`),
    // `q`: case-insensitive substring search (ILIKE '%…%') through trigrams.
    index("products_name_trgm").using("gin", t.name.op("gin_trgm_ops")),
  ],
);

/**
 * Units sold per product, one row per product, in the order `sort=popular` walks (units sold, then id): a copy
 * of products.sold_quantity kept in the same statement by triggers (migration 0030: a row for each new product,
 * the count on every change of products.sold_quantity, whichever statement makes it), so the list reads exactly
 * the counts its products show, in the same snapshot.
 *
 * Why not an index on products(sold_quantity, id) as before: an index on a column makes every update of that
 * column a non-HOT update of products, one that writes a new entry in every index of the table (14, one a
 * trigram GIN) and leaves the old ones dead. Every sale (a payment's completion, `payment_complete`) moves sold_quantity, so every sale paid
 * for all 14, and a drop's product (one row updated by every buyer) bloated them all. With the index here the sale
 * is a heap-only update of products (docs/checkout-performance.md, "The product row's updates made HOT"); what it
 * costs instead is this narrow row's update and its two index entries.
 */
export const productPopularity = pgTable(
  "product_popularity",
  {
    productId: uuid()
      .primaryKey()
      .references(() => products.id, { onDelete: "cascade" }),
    soldQuantity: integer().notNull(),
  },
  (t) => [index("product_popularity_rank").on(t.soldQuantity, t.productId)],
);
