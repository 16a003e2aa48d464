-- The schema PostgreSQL shares (migrations/postgres): sign-in failures get
-- an id of their own (the rowid is SQLite's only), job kinds become a closed
-- set, and the task system's call budget gets a row that every instance on
-- a PostgreSQL database takes its calls from.

CREATE TABLE login_failures_new (
    id  INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL,
    at  INTEGER NOT NULL
);
INSERT INTO login_failures_new (key, at) SELECT key, at FROM login_failures ORDER BY rowid;
DROP TABLE login_failures;
ALTER TABLE login_failures_new RENAME TO login_failures;
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('create_task', 'upload_attachment', 'post_comment', 'post_note', 'send_mail')),
    request_id  TEXT NOT NULL REFERENCES requests (id),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    ref_id      TEXT,
    trace_id    TEXT
);
INSERT INTO jobs_new (id, kind, request_id, attempts, run_after, lease_owner, lease_until, last_error, created_at, ref_id, trace_id)
    SELECT id, kind, request_id, attempts, run_after, lease_owner, lease_until, last_error, created_at, ref_id, trace_id FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_due ON jobs (run_after);

-- GCRA state of a shared call budget: the theoretical arrival time of the
-- next call, in Unix milliseconds.
CREATE TABLE call_budget (
    name TEXT PRIMARY KEY NOT NULL,
    tat  INTEGER NOT NULL
);
