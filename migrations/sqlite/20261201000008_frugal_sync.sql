-- Incremental catalog sync: an asset's fingerprint tells whether it changed,
-- a участок's asset count whether its members may have.
ALTER TABLE catalog_assets ADD COLUMN fingerprint TEXT NOT NULL DEFAULT '';
ALTER TABLE catalog_districts ADD COLUMN assets_count INTEGER;
-- Bulk status polling: the task system's own "last modified" of each task;
-- the conversation is read again only when it moves.
ALTER TABLE requests ADD COLUMN task_modified_at INTEGER;
