-- Custom SQL migration file, put your code below! --
-- Wakes the outbox relays (LISTEN outbox_events) when events become deliverable: at the commit of the
-- transaction that wrote them, or that an admin retry or a relay's release put back to PENDING. The payload is
-- the table's name; PostgreSQL folds identical notifications of one transaction into one.
CREATE FUNCTION "outbox_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('outbox_events', TG_TABLE_NAME);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER "order_events_inserted" AFTER INSERT ON "order_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();--> statement-breakpoint
CREATE TRIGGER "coupon_events_inserted" AFTER INSERT ON "coupon_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "outbox_notify"();--> statement-breakpoint
CREATE TRIGGER "order_events_requeued" AFTER UPDATE OF "status" ON "order_events"
  FOR EACH ROW WHEN (NEW."status" = 'PENDING' AND OLD."status" <> 'PENDING') EXECUTE FUNCTION "outbox_notify"();--> statement-breakpoint
CREATE TRIGGER "coupon_events_requeued" AFTER UPDATE OF "status" ON "coupon_events"
  FOR EACH ROW WHEN (NEW."status" = 'PENDING' AND OLD."status" <> 'PENDING') EXECUTE FUNCTION "outbox_notify"();
