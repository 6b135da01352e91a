ALTER TABLE "payments" ADD COLUMN "requested_by" uuid;--> statement-breakpoint
ALTER TABLE "payments" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
CREATE INDEX "payments_by_request" ON "payments" USING btree ("requested_by","idempotency_key") WHERE "payments"."idempotency_key" is not null;