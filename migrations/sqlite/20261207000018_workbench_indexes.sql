-- The requests workbench pages by (created_at, id) and looks up each row's
-- delivery job, last customer word and mail problem: indexes for each, so
-- a page costs the same at 100,000 requests and with thousands of jobs
-- waiting as at the start.
CREATE INDEX requests_newest ON requests (created_at, id);
CREATE INDEX requests_status_newest ON requests (status, created_at, id);
CREATE INDEX jobs_request_kind ON jobs (request_id, kind);
CREATE INDEX comments_request_kind ON comments (request_id, kind, created_at);
CREATE INDEX mails_request_created ON mails (request_id, created_at);
