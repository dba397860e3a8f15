-- Several daemons on one database (PostgreSQL) split the work; SQLite has
-- the same columns so one code path serves both backends.

-- A due source is leased to the daemon checking it until `lease_until`; a
-- daemon that dies leaves a lease that expires and is taken over.
ALTER TABLE source ADD COLUMN lease_owner TEXT;
ALTER TABLE source ADD COLUMN lease_until INTEGER;
CREATE INDEX source_due ON source (next_check_at) WHERE removed_at IS NULL;

-- A delivery being sent is claimed the same way, so no two daemons send it.
ALTER TABLE delivery ADD COLUMN claimed_by TEXT;
ALTER TABLE delivery ADD COLUMN claimed_until INTEGER;

-- Every `run` and `serve` instance: which registry it loaded and when it
-- was last alive.
CREATE TABLE instance (
    id          TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    role        TEXT NOT NULL,            -- run or serve
    fingerprint TEXT NOT NULL,            -- sha256 of the registry it loaded
    started_at  INTEGER NOT NULL,
    seen_at     INTEGER NOT NULL,
    stopped_at  INTEGER
) STRICT;

-- The registry the sources table mirrors now, and who synced it.
CREATE TABLE registry_state (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    loaded_by   TEXT NOT NULL,
    loaded_at   INTEGER NOT NULL
) STRICT;

-- Running totals for /metrics, kept as rows are written, so a scrape reads a
-- few rows instead of counting a table of millions. `bucket` is the smallest
-- duration bound (ms) the check fits under; 9223372036854775807 is +Inf.
CREATE TABLE check_tally (
    outcome TEXT NOT NULL,
    bucket  INTEGER NOT NULL,
    n       INTEGER NOT NULL,
    sum_ms  INTEGER NOT NULL,
    PRIMARY KEY (outcome, bucket)
) STRICT;
INSERT INTO check_tally (outcome, bucket, n, sum_ms)
SELECT outcome, b, count(*), sum(duration_ms) FROM (
    SELECT outcome, duration_ms, CASE
        WHEN duration_ms <= 50 THEN 50 WHEN duration_ms <= 100 THEN 100
        WHEN duration_ms <= 250 THEN 250 WHEN duration_ms <= 500 THEN 500
        WHEN duration_ms <= 1000 THEN 1000 WHEN duration_ms <= 2500 THEN 2500
        WHEN duration_ms <= 5000 THEN 5000 WHEN duration_ms <= 10000 THEN 10000
        WHEN duration_ms <= 30000 THEN 30000 WHEN duration_ms <= 60000 THEN 60000
        ELSE 9223372036854775807 END AS b
    FROM "check")
GROUP BY outcome, b;

CREATE TABLE row_tally (
    name TEXT PRIMARY KEY,                -- change, snapshot, review
    n    INTEGER NOT NULL
) STRICT;
INSERT INTO row_tally (name, n) SELECT 'change', count(*) FROM change;
INSERT INTO row_tally (name, n) SELECT 'snapshot', count(*) FROM snapshot;
INSERT INTO row_tally (name, n) SELECT 'review', count(*) FROM review;

-- The latest check of all: one index lookup.
CREATE INDEX check_at ON "check" (at);
