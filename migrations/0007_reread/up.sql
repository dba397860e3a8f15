-- Re-reading stored pages when the inference rules change.
-- The page title is kept with each snapshot (the text does not hold it), so a
-- stored version can be read again exactly as it was fetched.
ALTER TABLE snapshot ADD COLUMN title TEXT;
-- An observation that came from re-reading a stored version with new rules
-- (the rules' version), not from a change of the page: NULL for a page read.
ALTER TABLE observation ADD COLUMN reread_rules INTEGER;
