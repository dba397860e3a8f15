//! Mirror the registry into the database: guides, capabilities, sources and
//! claims. History survives edits: removed entries are marked, never deleted,
//! and a claim gets a new row only when it changes.

use super::db::args;
use super::{Result, Store, ms};
use crate::config::Registry;
use jiff::Timestamp;

impl Store {
    /// Bring the mirrored registry up to date at `now`, and record its
    /// fingerprint — unless this is a shared database whose running daemons
    /// loaded another `sources.toml`: then a command run with a different
    /// file reads without rewriting their sources (and says so on stderr).
    pub fn sync_registry(&mut self, reg: &Registry, now: Timestamp) -> Result<()> {
        if self.is_shared()
            && let Some((db, _)) = self.registry_fingerprint()?
            && db != reg.fingerprint
            && self
                .live_instances(now)?
                .iter()
                .any(|i| i.role == "run" && i.fingerprint == db)
        {
            eprintln!(
                "capwatch: the daemons on this database loaded another sources.toml (fingerprint {}, this one {}); \
                 reading without syncing this registry into it",
                &db[..db.len().min(12)],
                &reg.fingerprint[..reg.fingerprint.len().min(12)]
            );
            return Ok(());
        }
        self.write_registry(reg, now)?;
        self.set_registry_fingerprint(&reg.fingerprint, now)
    }

    /// Mirror `reg` into the database at `now`, whatever it mirrored before.
    pub fn write_registry(&mut self, reg: &Registry, now: Timestamp) -> Result<()> {
        let now = ms(now);
        let tx = self.db.begin(true)?; // nests inside `Store::batch`
        let db = &self.db;
        db.execute(
            "UPDATE guide SET removed_at = ?1 WHERE removed_at IS NULL",
            args![now],
        )?;
        db.execute(
            "UPDATE capability SET removed_at = ?1 WHERE removed_at IS NULL",
            args![now],
        )?;
        db.execute(
            "UPDATE source SET removed_at = ?1 WHERE removed_at IS NULL",
            args![now],
        )?;
        for g in &reg.guides {
            db.execute(
                "INSERT INTO guide (id, title, url) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET title = ?2, url = ?3, removed_at = NULL",
                args![g.id, g.title, g.url.as_ref().map(|u| u.as_str())],
            )?;
            // The guide's own page is watched like a source: its versions
            // and changes are kept under `guide:<id>`.
            if let Some(url) = &g.url {
                let id = guide_source_id(&g.id);
                db.execute(
                    "INSERT INTO source (id, capability_id, url, selector, created_at)
                     VALUES (?1, ?1, ?2, 'body', ?3)
                     ON CONFLICT (id) DO UPDATE SET
                        etag = CASE WHEN source.url = ?2 THEN source.etag END,
                        last_modified = CASE WHEN source.url = ?2 THEN source.last_modified END,
                        url = ?2, removed_at = NULL",
                    args![id, url.as_str(), now],
                )?;
            }
        }
        for c in &reg.capabilities {
            db.execute(
                "INSERT INTO capability (id, guide_id, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET guide_id = ?2, name = ?3, removed_at = NULL",
                args![c.id, c.guide, c.name],
            )?;
            let regions = serde_json::to_string(&c.claim.regions).expect("regions serialize");
            let last: Option<(String, String, String)> = db.query_opt(
                "SELECT stage, access, regions FROM claim WHERE capability_id = ?1
                 AND origin = 'registry' ORDER BY at DESC, id DESC LIMIT 1",
                args![&c.id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )?;
            let current = (
                c.claim.stage.to_string(),
                c.claim.access.to_string(),
                regions.clone(),
            );
            // Only a claim the registry pins is the registry's; without one,
            // the guide's page supplies it (`record_guide_claim`).
            if c.pinned && last.as_ref() != Some(&current) {
                db.execute(
                    "INSERT INTO claim (capability_id, at, stage, access, regions) VALUES (?1, ?2, ?3, ?4, ?5)",
                    args![c.id, now, current.0, current.1, current.2],
                )?;
            }
            for s in &c.sources {
                // A new URL invalidates the remembered validators; the next
                // check then fetches in full.
                db.execute(
                    "INSERT INTO source (id, capability_id, url, selector, created_at, next_check_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT (id) DO UPDATE SET
                        capability_id = ?2,
                        etag = CASE WHEN source.url = ?3 THEN source.etag END,
                        last_modified = CASE WHEN source.url = ?3 THEN source.last_modified END,
                        url = ?3, selector = ?4, removed_at = NULL",
                    args![s.id, s.capability, s.url.as_str(), s.selection.select_source(), now],
                )?;
            }
        }
        self.commit(tx)?;
        Ok(())
    }
}

/// The source id under which a guide's own page is kept.
pub fn guide_source_id(guide_id: &str) -> String {
    format!("guide:{guide_id}")
}
