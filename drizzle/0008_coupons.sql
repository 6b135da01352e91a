CREATE TYPE "public"."coupon_type" AS ENUM('PERCENTAGE', 'FIXED');--> statement-breakpoint
CREATE TYPE "public"."user_coupon_status" AS ENUM('ISSUED', 'USED', 'EXPIRED', 'REFUNDED');--> statement-breakpoint
CREATE TABLE "coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"issuer_id" uuid NOT NULL,
	"type" "coupon_type" NOT NULL,
	"discount_value" integer NOT NULL,
	"max_discount_amount" bigint,
	"min_order_amount" bigint DEFAULT 0 NOT NULL,
	"total_quantity" integer NOT NULL,
	"issued_quantity" integer DEFAULT 0 NOT NULL,
	"valid_from" timestamp (3) with time zone NOT NULL,
	"valid_until" timestamp (3) with time zone NOT NULL,
	"suspended_at" timestamp (3) with time zone,
	"cancelled_at" timestamp (3) with time zone,
	"version" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "coupons_discount_value" CHECK ("coupons"."discount_value" between 1 and 10000000),
	CONSTRAINT "coupons_percentage_range" CHECK ("coupons"."type" <> 'PERCENTAGE' or "coupons"."discount_value" <= 100),
	CONSTRAINT "coupons_max_discount" CHECK ("coupons"."max_discount_amount" is null or ("coupons"."type" = 'PERCENTAGE' and "coupons"."max_discount_amount" >= 1)),
	CONSTRAINT "coupons_min_order_amount" CHECK ("coupons"."min_order_amount" >= 0),
	CONSTRAINT "coupons_total_quantity" CHECK ("coupons"."total_quantity" between 1 and 1000000),
	CONSTRAINT "coupons_issued_quantity" CHECK ("coupons"."issued_quantity" between 0 and "coupons"."total_quantity"),
	CONSTRAINT "coupons_validity_window" CHECK ("coupons"."valid_until" > "coupons"."valid_from")
);
--> statement-breakpoint
CREATE TABLE "user_coupons" (
	"id" uuid PRIMARY KEY NOT NULL,
	"coupon_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"status" "user_coupon_status" DEFAULT 'ISSUED' NOT NULL,
	"issued_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"used_at" timestamp (3) with time zone,
	"order_id" uuid,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "user_coupons_used_order" CHECK (("user_coupons"."status" = 'USED') = ("user_coupons"."order_id" is not null)),
	CONSTRAINT "user_coupons_used_at" CHECK (("user_coupons"."status" = 'USED') = ("user_coupons"."used_at" is not null))
);
--> statement-breakpoint
ALTER TABLE "coupons" ADD CONSTRAINT "coupons_issuer_id_users_id_fk" FOREIGN KEY ("issuer_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_coupons" ADD CONSTRAINT "user_coupons_coupon_id_coupons_id_fk" FOREIGN KEY ("coupon_id") REFERENCES "public"."coupons"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "user_coupons" ADD CONSTRAINT "user_coupons_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "coupons_code_key" ON "coupons" USING btree (lower("code"));--> statement-breakpoint
CREATE INDEX "coupons_issuer" ON "coupons" USING btree ("issuer_id");--> statement-breakpoint
CREATE UNIQUE INDEX "user_coupons_coupon_user" ON "user_coupons" USING btree ("coupon_id","user_id");--> statement-breakpoint
CREATE INDEX "user_coupons_user" ON "user_coupons" USING btree ("user_id","issued_at");--> statement-breakpoint
CREATE INDEX "user_coupons_order" ON "user_coupons" USING btree ("order_id") WHERE "user_coupons"."order_id" is not null;