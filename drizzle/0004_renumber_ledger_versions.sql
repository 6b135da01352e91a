-- 0002 numbered ledger rows by created_at, which was the transaction's start time (ms precision), not the
-- moment the balance moved: concurrent charges came out of order. Every row written before this release
-- is a CHARGE (amount > 0), so each balance only ever grew and balance_after orders its history exactly.
-- Rows are first moved out of the unique (user_id, balance_version) range, then numbered 1, 2, 3, …
UPDATE "balance_ledger" SET "balance_version" = -"balance_version";
--> statement-breakpoint
UPDATE "balance_ledger" AS l
SET "balance_version" = v.rn
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "user_id" ORDER BY "balance_after", "created_at", "id") AS rn
  FROM "balance_ledger"
) AS v
WHERE l."id" = v."id";
