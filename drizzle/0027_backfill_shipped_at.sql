-- Orders shipped before orders kept their shipping time (order_shipped_at). What is known is an upper bound:
-- a shipped order was shipped by its delivery (if it has one) or its last change; an order refunded in full
-- after it shipped (its lines await, or have recorded, returns) by its delivery or its cancel. Only whether
-- it shipped matters to the invariant checker and to returns; the exact moment is not used.
UPDATE "orders" SET "shipped_at" = coalesce("delivered_at", "updated_at")
  WHERE "status" IN ('SHIPPED', 'DELIVERED', 'COMPLETED') AND "shipped_at" IS NULL;
--> statement-breakpoint
UPDATE "orders" o SET "shipped_at" = coalesce(o."delivered_at", o."cancelled_at", o."updated_at")
  WHERE o."status" = 'CANCELLED' AND o."shipped_at" IS NULL
    AND EXISTS (SELECT 1 FROM "order_items" i WHERE i."order_id" = o."id"
      AND i."awaiting_return" + i."returned_quantity" + i."written_off_quantity" > 0);
