DROP INDEX "balance_ledger_user_created";--> statement-breakpoint
ALTER TABLE "balance_ledger" ALTER COLUMN "balance_version" SET NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "balance_ledger_user_version" ON "balance_ledger" USING btree ("user_id","balance_version");