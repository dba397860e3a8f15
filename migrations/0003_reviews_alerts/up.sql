-- Reviews, snoozes and the alert outbox.

-- The date read from a guide's own page ("Last validated: June 6, 2026").
ALTER TABLE guide ADD COLUMN page_validated_on TEXT;
ALTER TABLE guide ADD COLUMN page_checked_at INTEGER;
ALTER TABLE guide ADD COLUMN page_outcome TEXT;

-- "I validated this": a capability, or a whole guide (subject_kind = 'guide').
CREATE TABLE review (
    id            INTEGER PRIMARY KEY,
    subject_kind  TEXT NOT NULL CHECK (subject_kind IN ('capability', 'guide')),
    subject_id    TEXT NOT NULL,
    at            INTEGER NOT NULL,
    by            TEXT NOT NULL,
    note          TEXT
) STRICT;
CREATE INDEX review_by_subject ON review (subject_kind, subject_id, at);

-- The snapshot of each source that was current when a review was recorded:
-- the reviewed baseline that `source_changed` compares against.
CREATE TABLE review_baseline (
    review_id    INTEGER NOT NULL REFERENCES review(id),
    source_id    TEXT NOT NULL REFERENCES source(id),
    snapshot_id  INTEGER REFERENCES snapshot(id),
    PRIMARY KEY (review_id, source_id)
) STRICT, WITHOUT ROWID;

-- Silence one finding kind of one capability until a date, or until a new
-- change or drift ends it early.
CREATE TABLE snooze (
    id             INTEGER PRIMARY KEY,
    capability_id  TEXT NOT NULL,
    kind           TEXT NOT NULL,
    at             INTEGER NOT NULL,
    until          INTEGER NOT NULL,
    reason         TEXT NOT NULL,
    -- what was true when it was set, to notice "a new change or drift"
    seen_snapshot  TEXT NOT NULL,   -- JSON {source_id: snapshot_id}
    seen_drift     TEXT NOT NULL,   -- JSON list of drifting dimensions
    ended_at       INTEGER,
    ended_reason   TEXT
) STRICT;
CREATE INDEX snooze_by_capability ON snooze (capability_id, at);

-- The outbox. A row exists before any delivery is tried.
CREATE TABLE alert (
    id            INTEGER PRIMARY KEY,
    dedupe_key    TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL,      -- expired, due_soon, source_changed, drift, unreadable, resolved
    subject_kind  TEXT NOT NULL,      -- capability or guide
    subject_id    TEXT NOT NULL,
    guide_id      TEXT NOT NULL,
    created_at    INTEGER NOT NULL,
    payload       TEXT NOT NULL,      -- JSON: what is wrong, evidence, url, review command
    resolves      INTEGER REFERENCES alert(id),
    resolved_at   INTEGER             -- set when the finding cleared
) STRICT;
CREATE INDEX alert_by_subject ON alert (subject_kind, subject_id, kind);

-- One delivery target of an alert: an owner's e-mail or the webhook.
CREATE TABLE delivery (
    alert_id       INTEGER NOT NULL REFERENCES alert(id),
    target         TEXT NOT NULL,     -- 'email:owner@example.com' or 'webhook'
    state          TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at        INTEGER,
    last_error     TEXT,
    message_id     TEXT,
    PRIMARY KEY (alert_id, target)
) STRICT, WITHOUT ROWID;
CREATE INDEX delivery_due ON delivery (state, next_attempt_at);

-- Every attempt, kept for `capwatch alerts`.
CREATE TABLE delivery_attempt (
    id        INTEGER PRIMARY KEY,
    alert_id  INTEGER NOT NULL REFERENCES alert(id),
    target    TEXT NOT NULL,
    at        INTEGER NOT NULL,
    ok        INTEGER NOT NULL,
    error     TEXT
) STRICT;
CREATE INDEX delivery_attempt_by_alert ON delivery_attempt (alert_id);
