-- The conversation on a task: what the customer sent from the status page, and
-- the staff's replies as last read from the task system.

CREATE TABLE comments (
    id          TEXT PRIMARY KEY NOT NULL,              -- UUID v7; its marker finds it again in HubEx
    request_id  TEXT NOT NULL REFERENCES requests (id),
    kind        TEXT NOT NULL CHECK (kind IN ('comment', 'fixed', 'not_fixed', 'same_problem')),
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    backend_id  INTEGER,
    posted_at   INTEGER
);
CREATE INDEX comments_request ON comments (request_id, created_at);

CREATE TABLE task_messages (
    request_id  TEXT NOT NULL REFERENCES requests (id),
    backend_id  INTEGER NOT NULL,
    created_at  INTEGER,
    author      TEXT,
    text        TEXT NOT NULL,
    PRIMARY KEY (request_id, backend_id)
);

ALTER TABLE attachments ADD COLUMN comment_id TEXT;
