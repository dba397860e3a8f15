-- The latest observation of a source is looked up on every saved check and for
-- every source in every evaluation; without this index each lookup scanned the
-- whole observation table (quadratic in the number of sources).
CREATE INDEX observation_by_source ON observation (source_id, at);
