-- Admin accounts, sessions, sign-in throttling, audit trail; catalog search.

CREATE TABLE admins (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    email               TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,                  -- argon2id PHC string
    role                TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
    created_at          INTEGER NOT NULL,
    password_changed_at INTEGER NOT NULL
);

CREATE TABLE sessions (
    id_hash    TEXT PRIMARY KEY NOT NULL,               -- SHA-256 of the cookie value
    admin_id   INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_admin ON sessions (admin_id);

CREATE TABLE login_failures (
    key TEXT NOT NULL,                                  -- 'email:…' or 'ip:…'
    at  INTEGER NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (key, at);

CREATE TABLE audit_log (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       INTEGER NOT NULL,
    admin_id INTEGER,
    action   TEXT NOT NULL,
    detail   TEXT
);

-- Lower-cased name, serial and inventory number, for case-insensitive search
-- (SQLite's LIKE folds ASCII only).
ALTER TABLE catalog_assets ADD COLUMN search_text TEXT NOT NULL DEFAULT '';
CREATE INDEX catalog_assets_company ON catalog_assets (company_id);
CREATE INDEX catalog_assets_name ON catalog_assets (name, id);
