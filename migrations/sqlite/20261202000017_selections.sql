-- A set of codes chosen in the admin (ticked, everything in a filter, or just
-- created), kept for a day so that print, ZIP and the bulk actions can name it
-- in a short link.
CREATE TABLE selections (
    id         TEXT PRIMARY KEY NOT NULL,
    admin_id   INTEGER,
    codes      TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX selections_created ON selections (created_at);

-- Sites are found by address: the address and description, lower-cased by
-- qrdesk (SQLite's lower() knows only ASCII); filled at the next sync and at
-- start-up.
ALTER TABLE catalog_locations ADD COLUMN search_text TEXT NOT NULL DEFAULT '';

-- Requests are found by their words: the description lower-cased by qrdesk
-- (filled for older requests at start-up).
ALTER TABLE requests ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
