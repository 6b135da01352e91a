import { sql } from "drizzle-orm";
import { check, date, index, integer, pgTable, primaryKey, text, uuid } from "drizzle-orm/pg-core";
import { krw } from "./columns";
import { products } from "./products";
import { users } from "./users";

/**
 * Paid, not refunded sales per Asia/Seoul day and product (and the category the lines were sold under),
 * kept in the transactions that complete payments and land refunds, so popular products and sales
 * statistics read a few thousand rows instead of every order line. `orders` counts each order once per
 * day (credited to its first line); the other order counts credit the first line of each seller, category
 * and seller+category, so every grouping counts distinct orders exactly by summing one column.
 */
export const productSalesDaily = pgTable(
  "product_sales_daily",
  {
    salesDay: date({ mode: "string" }).notNull(),
    productId: uuid()
      .notNull()
      .references(() => products.id),
    category: text().notNull(),
    sellerId: uuid()
      .notNull()
      .references(() => users.id),
    quantity: integer().notNull().default(0),
    salesAmount: krw().notNull().default(0),
    /** Order lines of this product (an order holds a product on one line at most). */
    orderLines: integer().notNull().default(0),
    orders: integer().notNull().default(0),
    sellerOrders: integer().notNull().default(0),
    categoryOrders: integer().notNull().default(0),
    sellerCategoryOrders: integer().notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.salesDay, t.productId, t.category] }),
    check(
      "product_sales_daily_non_negative",
      sql`${t.quantity} >= 0 AND ${t.salesAmount} >= 0 AND ${t.orderLines} >= 0 AND ${t.orders} >= 0 AND ${t.sellerOrders} >= 0 AND ${t.categoryOrders} >= 0 AND ${t.sellerCategoryOrders} >= 0`,
    ),
    // No index covers the counters, so the payment's upsert of its day's row is a heap-only update (no index
    // entry; a drop's product has every buyer update one row). Popular products read a few days' rows through
    // the primary key's sales_day prefix and the heap: what an index-only scan of (sales_day, product_id,
    // quantity, sales_amount) saved them (~5–10 ms of a 3-day window of 30,000 rows, once per cache TTL) was
    // paid by every checkout (docs/checkout-performance.md, "The product row's updates made HOT").
    // A seller's statistics read only its own rows.
    index("product_sales_daily_seller").on(t.sellerId, t.salesDay),
  ],
);
