-- Where a review or a snooze came from: 'cli', 'api', 'web' or 'mail-link'
-- (NULL for rows recorded before this migration), and for the web ones the
-- remote address. A snooze also keeps who set it.
ALTER TABLE review ADD COLUMN channel TEXT;
ALTER TABLE review ADD COLUMN remote_addr TEXT;
ALTER TABLE snooze ADD COLUMN channel TEXT;
ALTER TABLE snooze ADD COLUMN remote_addr TEXT;
ALTER TABLE snooze ADD COLUMN by TEXT;

-- Signed action links from the e-mail that were used: a link is good once.
CREATE TABLE action_link_use (
    link_id      TEXT PRIMARY KEY,   -- hex of the link's signature
    alert_id     INTEGER NOT NULL,
    action       TEXT NOT NULL,      -- review, snooze, review-guide
    owner        TEXT NOT NULL,
    used_at      INTEGER NOT NULL,
    remote_addr  TEXT
) STRICT;
