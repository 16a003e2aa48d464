-- E-mail to customers who left an address (only when mail.smtp_url is set).

-- The status page link of a request, sealed with a key kept outside the
-- database (mail.link_key_file): the database alone does not open it.
CREATE TABLE mail_subscriptions (
    request_id   TEXT PRIMARY KEY NOT NULL REFERENCES requests (id),
    token_sealed BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);

-- One e-mail to send or sent; its `send_mail` job points here.
CREATE TABLE mails (
    id          TEXT PRIMARY KEY NOT NULL,           -- UUID, also the Message-ID
    request_id  TEXT NOT NULL REFERENCES requests (id),
    kind        TEXT NOT NULL CHECK (kind IN ('accepted', 'status')),
    status_name TEXT,
    created_at  INTEGER NOT NULL,
    sent_at     INTEGER,
    failed      TEXT                                 -- why the mail server refused it for good
);
CREATE INDEX mails_request ON mails (request_id);

-- When the work started: HubEx's `timesheet.assigned`, or else when qrdesk
-- first saw the status move on.
ALTER TABLE requests ADD COLUMN task_in_work_at INTEGER;
