-- Outgoing webhooks: endpoints, one delivery per event and endpoint (its
-- `webhook-id` stays the same on every attempt and redelivery), and a line
-- per attempt. A delivery is carried out by a `deliver_webhook` job queued in
-- the transaction that caused the event.
-- Also: people get a name, a phone and their last sign-in; the audit log
-- keeps the address a change came from.

CREATE TABLE jobs_new (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL CHECK (kind IN ('create_task', 'upload_attachment', 'post_comment', 'post_note', 'send_mail', 'deliver_webhook')),
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

CREATE TABLE webhooks (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    url             TEXT NOT NULL,
    description     TEXT NOT NULL,
    events          TEXT NOT NULL,
    include_contact INTEGER NOT NULL,
    active          INTEGER NOT NULL,
    secret          TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL,
    failing_since   INTEGER,
    disabled_reason TEXT
);

CREATE TABLE webhook_deliveries (
    id          TEXT PRIMARY KEY NOT NULL,
    webhook_id  INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event       TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_at     INTEGER
);
CREATE INDEX webhook_deliveries_by_endpoint ON webhook_deliveries (webhook_id, created_at);

CREATE TABLE webhook_attempts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    delivery_id TEXT NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    webhook_id  INTEGER NOT NULL,
    at          INTEGER NOT NULL,
    attempt     INTEGER NOT NULL,
    status      INTEGER,
    duration_ms INTEGER NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_by_endpoint ON webhook_attempts (webhook_id, at);

ALTER TABLE admins ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE admins ADD COLUMN phone TEXT NOT NULL DEFAULT '';
ALTER TABLE admins ADD COLUMN last_sign_in_at INTEGER;
ALTER TABLE audit_log ADD COLUMN ip TEXT;
CREATE INDEX audit_log_at ON audit_log (at);
