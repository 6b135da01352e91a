CREATE TYPE "public"."outbox_status" AS ENUM('PENDING', 'PROCESSING', 'SENT', 'FAILED', 'ALERTED');--> statement-breakpoint
CREATE TABLE "coupon_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "coupon_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"aggregate_id" uuid NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" "outbox_status" DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp (3) with time zone,
	"last_error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp (3) with time zone,
	CONSTRAINT "coupon_events_type" CHECK ("type" in ('COUPON_CREATED', 'COUPON_ISSUED', 'COUPON_USED', 'COUPON_RESTORED')),
	CONSTRAINT "coupon_events_attempts" CHECK ("coupon_events"."attempts" >= 0)
);
--> statement-breakpoint
CREATE TABLE "order_events" (
	"id" uuid PRIMARY KEY NOT NULL,
	"seq" bigint GENERATED ALWAYS AS IDENTITY (sequence name "order_events_seq_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"aggregate_id" uuid NOT NULL,
	"type" text NOT NULL,
	"payload" jsonb NOT NULL,
	"status" "outbox_status" DEFAULT 'PENDING' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"lease_owner" text,
	"lease_expires_at" timestamp (3) with time zone,
	"last_error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp (3) with time zone,
	CONSTRAINT "order_events_type" CHECK ("type" in ('ORDER_CREATED', 'PAYMENT_COMPLETED', 'ORDER_CANCELLED', 'REFUND_COMPLETED')),
	CONSTRAINT "order_events_attempts" CHECK ("order_events"."attempts" >= 0)
);
--> statement-breakpoint
CREATE INDEX "coupon_events_aggregate" ON "coupon_events" USING btree ("aggregate_id","seq");--> statement-breakpoint
CREATE INDEX "coupon_events_unsent" ON "coupon_events" USING btree ("seq") WHERE "coupon_events"."status" <> 'SENT';--> statement-breakpoint
CREATE INDEX "order_events_aggregate" ON "order_events" USING btree ("aggregate_id","seq");--> statement-breakpoint
CREATE INDEX "order_events_unsent" ON "order_events" USING btree ("seq") WHERE "order_events"."status" <> 'SENT';