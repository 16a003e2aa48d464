-- Followers of a request (see migrations/sqlite/20261202000015_followers.sql).
CREATE TABLE followers (
    token_hash TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    created_at BIGINT NOT NULL
);
CREATE INDEX followers_request ON followers (request_id);
