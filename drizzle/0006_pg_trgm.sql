-- Custom SQL migration file, put your code below! --
-- Trigram indexes serve the product search (`q`: case-insensitive substring). pg_trgm is a trusted
-- extension (PostgreSQL 13+), so the database owner may create it; PGlite loads it from its contrib bundle.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
