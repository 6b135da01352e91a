import { sql } from "drizzle-orm";
import { check, integer, pgEnum, pgTable, text, uniqueIndex, uuid } from "drizzle-orm/pg-core";
import { at } from "./columns";

export const userRole = pgEnum("user_role", ["ADMIN", "SELLER", "BUYER"]);

export const users = pgTable(
  "users",
  {
    id: uuid().primaryKey(),
    // Stored lower-cased by the service; the unique index is the last word on duplicates.
    email: text().notNull(),
    passwordHash: text().notNull(),
    name: text().notNull(),
    role: userRole().notNull(),
    bio: text(),
    businessRegistrationNumber: text(),
    adminCode: text(),
    // Access tokens carry the version they were issued under; logout and a password change move it on, which
    // refuses every older token at once.
    tokenVersion: integer().notNull().default(0),
    // The one token a password change keeps working (the caller's own, by its id), until the next move.
    keptTokenId: uuid(),
    createdAt: at().notNull().defaultNow(),
    updatedAt: at().notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("users_email_key").on(t.email),
    // Role-specific columns belong to their role only.
    check("users_seller_brn", sql`(${t.role} = 'SELLER') = (${t.businessRegistrationNumber} IS NOT NULL)`),
    check("users_admin_code", sql`(${t.role} = 'ADMIN') = (${t.adminCode} IS NOT NULL)`),
    check("users_email_lower", sql`${t.email} = lower(${t.email})`),
  ],
);
