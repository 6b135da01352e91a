-- Custom SQL migration file, put your code below! --
-- Orders delivered before orders kept their delivery time (0021): the last change of a DELIVERED order is, at
-- the latest, its delivery (a refund request since may have touched it later, which only delays its
-- auto-completion), so they complete ORDER_AUTO_COMPLETE_DAYS after that instead of never.
UPDATE "orders" SET "delivered_at" = "updated_at" WHERE "status" = 'DELIVERED' AND "delivered_at" IS NULL;
