-- The id of the request that queued a job, for its log span and the
-- task-system calls it makes.
ALTER TABLE jobs ADD COLUMN trace_id TEXT;
