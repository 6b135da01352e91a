import { sql } from "drizzle-orm";
import { check, index, integer, pgEnum, pgTable, primaryKey, uuid } from "drizzle-orm/pg-core";
import { RETURN_CONDITIONS } from "../../../domain/returns/order-return";
import { at } from "./columns";
import { orders } from "./orders";
import { products } from "./products";
import { users } from "./users";

export const returnCondition = pgEnum("return_condition", RETURN_CONDITIONS);

/** One recording of returned units of an order (POST /orders/{orderId}/returns): append-only. */
export const orderReturns = pgTable(
  "order_returns",
  {
    id: uuid().primaryKey(),
    orderId: uuid()
      .notNull()
      .references(() => orders.id, { onDelete: "cascade" }),
    recordedBy: uuid()
      .notNull()
      .references(() => users.id),
    createdAt: at().notNull().defaultNow(),
  },
  (t) => [index("order_returns_order").on(t.orderId, t.createdAt)],
);

export const orderReturnItems = pgTable(
  "order_return_items",
  {
    returnId: uuid()
      .notNull()
      .references(() => orderReturns.id, { onDelete: "cascade" }),
    productId: uuid()
      .notNull()
      .references(() => products.id),
    condition: returnCondition().notNull(),
    quantity: integer().notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.returnId, t.productId, t.condition] }),
    check("order_return_items_quantity", sql`${t.quantity} >= 1`),
  ],
);
