-- Scans by day (see migrations/sqlite/20261202000014_scan_days.sql).
CREATE TABLE code_scan_days (
    code  TEXT NOT NULL REFERENCES codes (code),
    day   BIGINT NOT NULL,
    scans BIGINT NOT NULL,
    PRIMARY KEY (code, day)
);
