-- Workbench indexes (see migrations/sqlite/20261207000018_workbench_indexes.sql).
CREATE INDEX requests_newest ON requests (created_at, id);
CREATE INDEX requests_status_newest ON requests (status, created_at, id);
CREATE INDEX jobs_request_kind ON jobs (request_id, kind);
CREATE INDEX comments_request_kind ON comments (request_id, kind, created_at);
CREATE INDEX mails_request_created ON mails (request_id, created_at);
