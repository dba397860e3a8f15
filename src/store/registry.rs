//! Mirror the registry into the database: guides, capabilities, sources and
//! claims. History survives edits: removed entries are marked, never deleted,
//! and a claim gets a new row only when it changes.

use super::{Result, Store, ms};
use crate::config::Registry;
use jiff::Timestamp;
use rusqlite::{OptionalExtension, params};

impl Store {
    /// Bring the mirrored registry up to date at `now`.
    pub fn sync_registry(&mut self, reg: &Registry, now: Timestamp) -> Result<()> {
        let now = ms(now);
        let tx = self.conn.savepoint()?; // nests inside `Store::batch`
        tx.execute(
            "UPDATE guide SET removed_at = ?1 WHERE removed_at IS NULL",
            [now],
        )?;
        tx.execute(
            "UPDATE capability SET removed_at = ?1 WHERE removed_at IS NULL",
            [now],
        )?;
        tx.execute(
            "UPDATE source SET removed_at = ?1 WHERE removed_at IS NULL",
            [now],
        )?;
        for g in &reg.guides {
            tx.execute(
                "INSERT INTO guide (id, title, url) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET title = ?2, url = ?3, removed_at = NULL",
                params![g.id, g.title, g.url.as_ref().map(|u| u.as_str())],
            )?;
            // The guide's own page is watched like a source: its versions
            // and changes are kept under `guide:<id>`.
            if let Some(url) = &g.url {
                let id = guide_source_id(&g.id);
                tx.execute(
                    "INSERT INTO source (id, capability_id, url, selector, created_at)
                     VALUES (?1, ?1, ?2, 'body', ?3)
                     ON CONFLICT (id) DO UPDATE SET
                        etag = CASE WHEN url = ?2 THEN etag END,
                        last_modified = CASE WHEN url = ?2 THEN last_modified END,
                        url = ?2, removed_at = NULL",
                    params![id, url.as_str(), now],
                )?;
            }
        }
        for c in &reg.capabilities {
            tx.execute(
                "INSERT INTO capability (id, guide_id, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (id) DO UPDATE SET guide_id = ?2, name = ?3, removed_at = NULL",
                params![c.id, c.guide, c.name],
            )?;
            let regions = serde_json::to_string(&c.claim.regions).expect("regions serialize");
            let last: Option<(String, String, String)> = tx
                .query_row(
                    "SELECT stage, access, regions FROM claim WHERE capability_id = ?1
                     AND origin = 'registry' ORDER BY at DESC, id DESC LIMIT 1",
                    [&c.id],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let current = (
                c.claim.stage.to_string(),
                c.claim.access.to_string(),
                regions.clone(),
            );
            // Only a claim the registry pins is the registry's; without one,
            // the guide's page supplies it (`record_guide_claim`).
            if c.pinned && last.as_ref() != Some(&current) {
                tx.execute(
                    "INSERT INTO claim (capability_id, at, stage, access, regions) VALUES (?1, ?2, ?3, ?4, ?5)",
                    params![c.id, now, current.0, current.1, current.2],
                )?;
            }
            for s in &c.sources {
                // A new URL invalidates the remembered validators; the next
                // check then fetches in full.
                tx.execute(
                    "INSERT INTO source (id, capability_id, url, selector, created_at, next_check_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)
                     ON CONFLICT (id) DO UPDATE SET
                        capability_id = ?2,
                        etag = CASE WHEN url = ?3 THEN etag END,
                        last_modified = CASE WHEN url = ?3 THEN last_modified END,
                        url = ?3, selector = ?4, removed_at = NULL",
                    params![s.id, s.capability, s.url.as_str(), s.selection.select_source(), now],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The source id under which a guide's own page is kept.
pub fn guide_source_id(guide_id: &str) -> String {
    format!("guide:{guide_id}")
}
