-- Notes for staff only (another customer's contact when the same text came
-- twice): posted to the task's team chat, never shown on a status page.
CREATE TABLE staff_notes (
    id          TEXT PRIMARY KEY NOT NULL,              -- derived from the form token: one note per form
    request_id  TEXT NOT NULL REFERENCES requests (id),
    text        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    backend_id  INTEGER,
    posted_at   INTEGER
);
CREATE INDEX staff_notes_request ON staff_notes (request_id, created_at);
