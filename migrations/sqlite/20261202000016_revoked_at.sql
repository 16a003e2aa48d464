-- When a code was revoked: for 30 days it can be switched on again.
ALTER TABLE codes ADD COLUMN revoked_at INTEGER;
