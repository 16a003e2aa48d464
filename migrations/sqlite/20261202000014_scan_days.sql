-- Scans by day (days since 1970-01-01 at `server.utc_offset_minutes`), for
-- the code page's 30-day chart. A scan is one visitor opening the code's
-- form, counted once an hour.
CREATE TABLE code_scan_days (
    code  TEXT NOT NULL REFERENCES codes (code),
    day   INTEGER NOT NULL,
    scans INTEGER NOT NULL,
    PRIMARY KEY (code, day)
);
