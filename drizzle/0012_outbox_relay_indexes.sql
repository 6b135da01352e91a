DROP INDEX "coupon_events_unsent";--> statement-breakpoint
DROP INDEX "order_events_unsent";--> statement-breakpoint
CREATE INDEX "coupon_events_queue" ON "coupon_events" USING btree ("seq") WHERE "coupon_events"."status" in ('PENDING', 'FAILED');--> statement-breakpoint
CREATE INDEX "coupon_events_undelivered" ON "coupon_events" USING btree ("aggregate_id","seq") WHERE "coupon_events"."status" <> 'SENT';--> statement-breakpoint
CREATE INDEX "coupon_events_leases" ON "coupon_events" USING btree ("lease_expires_at") WHERE "coupon_events"."status" = 'PROCESSING';--> statement-breakpoint
CREATE INDEX "order_events_queue" ON "order_events" USING btree ("seq") WHERE "order_events"."status" in ('PENDING', 'FAILED');--> statement-breakpoint
CREATE INDEX "order_events_undelivered" ON "order_events" USING btree ("aggregate_id","seq") WHERE "order_events"."status" <> 'SENT';--> statement-breakpoint
CREATE INDEX "order_events_leases" ON "order_events" USING btree ("lease_expires_at") WHERE "order_events"."status" = 'PROCESSING';