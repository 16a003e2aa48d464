-- Chosen codes, and site search (see migrations/sqlite/20261202000017_selections.sql).
CREATE TABLE selections (
    id         TEXT PRIMARY KEY NOT NULL,
    admin_id   BIGINT,
    codes      TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX selections_created ON selections (created_at);

ALTER TABLE catalog_locations ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

ALTER TABLE requests ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

ALTER TABLE followers ADD COLUMN email TEXT;
ALTER TABLE followers ADD COLUMN token_sealed BYTEA;
ALTER TABLE followers ADD COLUMN lang TEXT NOT NULL DEFAULT 'ru';
ALTER TABLE mails ADD COLUMN follower TEXT;
ALTER TABLE mails DROP CONSTRAINT mails_kind_check;
ALTER TABLE mails ADD CONSTRAINT mails_kind_check CHECK (kind IN ('accepted', 'status', 'fixed'));
