-- qrdesk schema, first cut. Timestamps are Unix milliseconds (UTC).

CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

-- Catalog mirrored from HubEx; `synced_at` tells which sync last saw a row.
CREATE TABLE catalog_districts (
    id        INTEGER PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    parent_id INTEGER,
    synced_at INTEGER NOT NULL
);

CREATE TABLE catalog_locations (
    id          INTEGER PRIMARY KEY NOT NULL,
    address     TEXT NOT NULL,
    description TEXT,
    synced_at   INTEGER NOT NULL
);

CREATE TABLE catalog_companies (
    id        INTEGER PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);

CREATE TABLE catalog_assets (
    id               INTEGER PRIMARY KEY NOT NULL,
    name             TEXT NOT NULL,
    serial_number    TEXT,
    inventory_number TEXT,
    company_id       INTEGER,
    location_id      INTEGER,
    synced_at        INTEGER NOT NULL
);
CREATE INDEX catalog_assets_location ON catalog_assets (location_id);

CREATE TABLE catalog_asset_districts (
    asset_id    INTEGER NOT NULL,
    district_id INTEGER NOT NULL,
    PRIMARY KEY (asset_id, district_id)
);
CREATE INDEX catalog_asset_districts_district ON catalog_asset_districts (district_id);

CREATE TABLE catalog_task_types (
    id         INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    is_default INTEGER NOT NULL DEFAULT 0,
    synced_at  INTEGER NOT NULL
);

CREATE TABLE catalog_criticalities (
    id         INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    color      TEXT,
    is_default INTEGER NOT NULL DEFAULT 0,
    sort_order INTEGER,
    synced_at  INTEGER NOT NULL
);

CREATE TABLE catalog_request_methods (
    id        INTEGER PRIMARY KEY NOT NULL,
    name      TEXT NOT NULL,
    synced_at INTEGER NOT NULL
);

-- A code is what the sticker carries; the target can change without reprinting.
CREATE TABLE codes (
    code         TEXT PRIMARY KEY NOT NULL,
    target_kind  TEXT NOT NULL CHECK (target_kind IN ('asset', 'location', 'district', 'none')),
    target_id    INTEGER,
    label        TEXT,
    state        TEXT NOT NULL CHECK (state IN ('active', 'revoked', 'unassigned')),
    replaced_by  TEXT,
    created_at   INTEGER NOT NULL,
    rotated_at   INTEGER,
    scan_count   INTEGER NOT NULL DEFAULT 0,
    last_scan_at INTEGER
);
CREATE INDEX codes_target ON codes (target_kind, target_id);

CREATE TABLE requests (
    id                TEXT PRIMARY KEY NOT NULL,          -- UUID v7, also the HubEx concurrency stamp
    code              TEXT NOT NULL REFERENCES codes (code),
    asset_id          INTEGER,
    location_id       INTEGER,
    company_id        INTEGER,
    description       TEXT NOT NULL,
    contact_name      TEXT,
    contact_phone     TEXT,
    contact_email     TEXT,
    consent           INTEGER NOT NULL DEFAULT 0,
    client_ip_hash    TEXT,
    lang              TEXT NOT NULL DEFAULT 'ru',
    status            TEXT NOT NULL CHECK (status IN ('accepted', 'delivering', 'delivered', 'failed')),
    failure_reason    TEXT,
    task_id           INTEGER,
    task_number       TEXT,
    task_status_name  TEXT,
    task_status_color TEXT,
    task_created_at   INTEGER,
    task_completed_at INTEGER,
    task_closed_at    INTEGER,
    status_checked_at INTEGER,
    token_hash        TEXT NOT NULL UNIQUE,               -- SHA-256 of the status-page token
    created_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    updated_at        INTEGER NOT NULL
);
CREATE INDEX requests_code ON requests (code, created_at);
CREATE INDEX requests_open ON requests (status, task_closed_at);

-- The outbox. A job is written in the same transaction as the data it serves.
CREATE TABLE jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT NOT NULL,                              -- create_task, …
    request_id  TEXT NOT NULL REFERENCES requests (id),
    attempts    INTEGER NOT NULL DEFAULT 0,
    run_after   INTEGER NOT NULL,
    lease_owner TEXT,
    lease_until INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs (run_after);
