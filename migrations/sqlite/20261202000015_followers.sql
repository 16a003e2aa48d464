-- People who pressed "I have the same problem" on an open request: each gets
-- a private status link of their own (only its hash is kept), showing the
-- task's status, never the first person's words or contact.
CREATE TABLE followers (
    token_hash TEXT PRIMARY KEY NOT NULL,
    request_id TEXT NOT NULL REFERENCES requests (id),
    created_at INTEGER NOT NULL
);
CREATE INDEX followers_request ON followers (request_id);
