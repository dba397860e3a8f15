-- Claims (from the registry) and observations (inferred from pages), each a
-- new row only when the value changes, so "how did it stand at T" is a lookup.

CREATE TABLE claim (
    id            INTEGER PRIMARY KEY,
    capability_id TEXT NOT NULL REFERENCES capability(id),
    at            INTEGER NOT NULL,
    stage         TEXT NOT NULL,
    access        TEXT NOT NULL,
    regions       TEXT NOT NULL   -- JSON array
) STRICT;
CREATE INDEX claim_by_capability ON claim (capability_id, at);

-- What one source said about its capability, from one snapshot.
CREATE TABLE observation (
    id            INTEGER PRIMARY KEY,
    capability_id TEXT NOT NULL REFERENCES capability(id),
    source_id     TEXT NOT NULL REFERENCES source(id),
    snapshot_id   INTEGER REFERENCES snapshot(id),
    at            INTEGER NOT NULL,
    stage         TEXT NOT NULL,
    access        TEXT NOT NULL,
    regions       TEXT NOT NULL,  -- JSON array
    evidence      TEXT NOT NULL,  -- JSON array of {dimension, value, quote, rule}
    notes         TEXT NOT NULL   -- JSON array of strings
) STRICT;
CREATE INDEX observation_by_capability ON observation (capability_id, at);
