-- Photos sent with a request, kept content-addressed until delivered.

CREATE TABLE attachments (
    id           TEXT PRIMARY KEY NOT NULL,             -- UUID v7; also names the file in HubEx
    request_id   TEXT NOT NULL REFERENCES requests (id),
    sha256       TEXT NOT NULL,                         -- blob under <data_dir>/photos/
    mime         TEXT NOT NULL,
    size         INTEGER NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    backend_id   INTEGER,                               -- HubEx attachmentID once uploaded
    created_at   INTEGER NOT NULL,
    uploaded_at  INTEGER,
    removed_at   INTEGER                                -- blob deleted by retention
);
CREATE INDEX attachments_request ON attachments (request_id);
CREATE INDEX attachments_sha ON attachments (sha256);

-- What a job is about besides its request (an attachment id for uploads).
ALTER TABLE jobs ADD COLUMN ref_id TEXT;
