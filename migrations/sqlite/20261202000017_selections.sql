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

-- A follower ("the same problem") may leave an e-mail to hear when it is
-- fixed: the address, their status link sealed like the requester's, their
-- language; and which follower a mail goes to (NULL: the requester).
ALTER TABLE followers ADD COLUMN email TEXT;
ALTER TABLE followers ADD COLUMN token_sealed BLOB;
ALTER TABLE followers ADD COLUMN lang TEXT NOT NULL DEFAULT 'ru';
-- Mails gain the kind "fixed" (to a follower) and the follower they go to:
-- SQLite changes a CHECK by rebuilding the table.
CREATE TABLE mails_new (
    id          TEXT PRIMARY KEY NOT NULL,           -- UUID, also the Message-ID
    request_id  TEXT NOT NULL REFERENCES requests (id),
    kind        TEXT NOT NULL CHECK (kind IN ('accepted', 'status', 'fixed')),
    status_name TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    failed      TEXT,                                -- why the mail server refused it for good
    follower    TEXT                                 -- followers.token_hash; NULL: the requester
);
INSERT INTO mails_new (id, request_id, kind, status_name, created_at, sent_at, failed)
    SELECT id, request_id, kind, status_name, created_at, sent_at, failed FROM mails;
DROP TABLE mails;
ALTER TABLE mails_new RENAME TO mails;
CREATE INDEX mails_request ON mails (request_id);
