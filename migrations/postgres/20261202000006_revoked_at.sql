-- When a code was revoked (see migrations/sqlite/20261202000016_revoked_at.sql).
ALTER TABLE codes ADD COLUMN revoked_at BIGINT;
