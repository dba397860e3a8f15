-- The watch pipeline: what the registry names, every check, every distinct
-- version of a page, and the changes between them. Times are Unix milliseconds
-- (UTC); dates are 'YYYY-MM-DD' text.

CREATE TABLE guide (
    id          TEXT PRIMARY KEY,
    title       TEXT NOT NULL,
    url         TEXT,
    removed_at  INTEGER
) STRICT;

CREATE TABLE capability (
    id          TEXT PRIMARY KEY,
    guide_id    TEXT NOT NULL,
    name        TEXT NOT NULL,
    removed_at  INTEGER
) STRICT;

-- One watched page. Validators and the schedule are remembered here.
CREATE TABLE source (
    id              TEXT PRIMARY KEY,
    capability_id   TEXT NOT NULL,
    url             TEXT NOT NULL,
    selector        TEXT NOT NULL,
    etag            TEXT,
    last_modified   TEXT,
    infer_key       TEXT,
    next_check_at   INTEGER,
    failures        INTEGER NOT NULL DEFAULT 0,
    created_at      INTEGER NOT NULL,
    removed_at      INTEGER
) STRICT;

-- Page text, stored once per distinct hash whatever source or time it came from.
CREATE TABLE content (
    hash    TEXT PRIMARY KEY,
    body    TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- One distinct version of a source, numbered 1, 2, 3… per source.
CREATE TABLE snapshot (
    id          INTEGER PRIMARY KEY,
    source_id   TEXT NOT NULL REFERENCES source(id),
    seq         INTEGER NOT NULL,
    hash        TEXT NOT NULL REFERENCES content(hash),
    at          INTEGER NOT NULL,
    UNIQUE (source_id, seq)
) STRICT;

-- Every fetch attempt and its outcome. Unchanged checks point at the current
-- snapshot and add no content.
CREATE TABLE "check" (
    id          INTEGER PRIMARY KEY,
    source_id   TEXT NOT NULL REFERENCES source(id),
    at          INTEGER NOT NULL,
    outcome     TEXT NOT NULL,
    detail      TEXT,
    http_status INTEGER,
    duration_ms INTEGER NOT NULL,
    snapshot_id INTEGER REFERENCES snapshot(id)
) STRICT;
CREATE INDEX check_by_source ON "check" (source_id, at);

-- A transition between two snapshots of one source.
CREATE TABLE change (
    id            INTEGER PRIMARY KEY,
    source_id     TEXT NOT NULL REFERENCES source(id),
    from_snapshot INTEGER NOT NULL REFERENCES snapshot(id),
    to_snapshot   INTEGER NOT NULL REFERENCES snapshot(id),
    at            INTEGER NOT NULL,
    added         INTEGER NOT NULL,
    removed       INTEGER NOT NULL
) STRICT;
CREATE INDEX change_by_source ON change (source_id, at);
