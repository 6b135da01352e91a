-- Every ledger row is one step of its balance's version (versions start at 0 and each change adds 1),
-- so numbering each user's rows in the order they were written restores the version they produced.
UPDATE "balance_ledger" AS l
SET "balance_version" = v.rn
FROM (
  SELECT "id", row_number() OVER (PARTITION BY "user_id" ORDER BY "created_at", "id") AS rn
  FROM "balance_ledger"
) AS v
WHERE l."id" = v."id" AND l."balance_version" IS NULL;
