-- "What did this source last say?" is asked for every source on every check
-- and for every capability on every status view (CLI, dashboard, API);
-- without this index each lookup scans the whole observation table.
CREATE INDEX observation_by_source ON observation (source_id, at);
