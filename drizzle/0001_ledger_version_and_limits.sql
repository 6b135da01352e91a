ALTER TABLE "balance_ledger" ADD COLUMN "balance_version" integer;--> statement-breakpoint
ALTER TABLE "idempotency_keys" ADD COLUMN "claim_token" text;--> statement-breakpoint
ALTER TABLE "balances" ADD CONSTRAINT "balances_within_cap" CHECK ("balances"."balance" <= 1000000000);