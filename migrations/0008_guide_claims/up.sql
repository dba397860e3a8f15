-- Claims read from the guide's own text. Each row says where it came from
-- ('registry': typed into sources.toml; 'guide': inferred from the guide's
-- page) and, for guide claims, the guide's sentence that states it.
ALTER TABLE claim ADD COLUMN origin TEXT NOT NULL DEFAULT 'registry';
ALTER TABLE claim ADD COLUMN quote TEXT;
