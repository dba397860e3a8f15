//! Atom 1.0 feeds (`/feed.atom`, `/guides/{id}/feed.atom`): page changes,
//! observed status moves and alerts, newest first. Titles are `type="text"`
//! (XML-escaped once); contents are `type="html"`: the HTML is built with
//! every untrusted string escaped, then the whole HTML is XML-escaped again.

use super::html::{esc, seg};
use super::{Error, PageError, ServeState, base_url};
use crate::config::Registry;
use crate::report::{excerpt, rfc3339};
use crate::store::Store;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use std::fmt::Write;

/// Entries of each kind in one feed.
const PER_KIND: usize = 50;
/// Changes whose diff excerpt is included (diffs cost a read of both versions).
const WITH_DIFF: usize = 10;
/// Changed lines shown in a diff excerpt.
const DIFF_EXCERPT_LINES: usize = 30;

struct Entry {
    id: String,
    title: String,
    updated: Timestamp,
    link: String,
    category: &'static str,
    html: String,
}

/// `GET /feed.atom`.
pub(super) async fn all(
    State(state): State<ServeState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let base = base_url(&headers);
    let xml = state
        .read(move |store, reg| feed(store, reg, None, &base, Timestamp::now()))
        .await?;
    Ok(atom(xml))
}

/// `GET /guides/{id}/feed.atom`.
pub(super) async fn guide(
    State(state): State<ServeState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let base = base_url(&headers);
    let xml = state
        .read(move |store, reg| {
            if reg.guide(&id).is_none() {
                return Err(Error::not_found(format!(
                    "no guide \"{id}\" in the registry"
                )));
            }
            feed(store, reg, Some(&id), &base, Timestamp::now())
        })
        .await?;
    Ok(atom(xml))
}

fn atom(xml: String) -> Response {
    (
        [(header::CONTENT_TYPE, "application/atom+xml; charset=utf-8")],
        xml,
    )
        .into_response()
}

fn feed(
    store: &Store,
    reg: &Registry,
    guide: Option<&str>,
    base: &str,
    now: Timestamp,
) -> Result<String, Error> {
    let caps: Vec<&crate::config::Capability> = reg
        .capabilities
        .iter()
        .filter(|c| guide.is_none_or(|g| c.guide == g))
        .collect();
    let cap_name = |id: &str| {
        reg.capability(id)
            .map(|c| c.name.clone())
            .unwrap_or_else(|| id.to_string())
    };
    let source_ids: Vec<String> = caps
        .iter()
        .flat_map(|c| c.sources.iter().map(|s| s.id.clone()))
        .collect();
    let cap_ids: Vec<String> = caps.iter().map(|c| c.id.clone()).collect();
    let mut entries = Vec::new();

    for (i, c) in store
        .recent_changes(&source_ids, PER_KIND)?
        .into_iter()
        .enumerate()
    {
        let cap = reg.source(&c.source_id).map(|s| s.capability.clone());
        let name = cap.as_deref().map(cap_name).unwrap_or_default();
        let link = format!("{base}/changes/{}", c.id);
        let mut html = format!(
            "<p>{} ({}) changed from snapshot {} to {}: +{} −{} lines. <a href=\"{}\">See the diff</a>.</p>",
            esc(&c.source_id),
            esc(&name),
            c.from.seq,
            c.to.seq,
            c.added,
            c.removed,
            esc(&link)
        );
        if i < WITH_DIFF {
            let old = store.content(&c.from.hash)?;
            let new = store.content(&c.to.hash)?;
            let changed: Vec<String> = crate::diff::lines(&old, &new)
                .into_iter()
                .filter(|l| l.tag == "+" || l.tag == "-")
                .take(DIFF_EXCERPT_LINES)
                .map(|l| format!("{} {}", l.tag, excerpt(&l.text, 300)))
                .collect();
            if !changed.is_empty() {
                let _ = write!(html, "<pre>{}</pre>", esc(&changed.join("\n")));
            }
        }
        entries.push(Entry {
            id: format!("urn:capwatch:change:{}", c.id),
            title: format!(
                "{name}: {} changed (snapshot {} → {})",
                c.source_id, c.from.seq, c.to.seq
            ),
            updated: c.at,
            link,
            category: "change",
            html,
        });
    }

    for o in store.recent_observations(&cap_ids, PER_KIND)? {
        let name = cap_name(&o.capability_id);
        let link = format!("{base}/capabilities/{}", seg(&o.capability_id));
        let mut html = format!(
            "<p>{} now says {} is <b>{}</b> (access {}, regions {}).</p>",
            esc(&o.source_id),
            esc(&name),
            esc(o.status.stage.as_str()),
            esc(o.status.access.as_str()),
            esc(&o.status.regions.to_string())
        );
        for e in &o.evidence {
            let _ = write!(
                html,
                "<blockquote>“{}”</blockquote><p>{} = {} ({})</p>",
                esc(&e.quote),
                esc(&e.dimension),
                esc(&e.value),
                esc(&e.rule)
            );
        }
        for n in &o.notes {
            let _ = write!(html, "<p>Note: {}</p>", esc(n));
        }
        entries.push(Entry {
            id: format!("urn:capwatch:observation:{}", o.id),
            title: format!("{name}: {} now says {}", o.source_id, o.status),
            updated: o.at,
            link,
            category: "observation",
            html,
        });
    }

    for a in store.recent_alerts(guide, PER_KIND)? {
        let summary = a
            .payload
            .get("summary")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let link = if a.subject_kind == "capability" {
            format!("{base}/capabilities/{}", seg(&a.subject_id))
        } else {
            format!("{base}/#guide-{}", seg(&a.guide_id))
        };
        let subject = if a.subject_kind == "capability" {
            cap_name(&a.subject_id)
        } else {
            format!("guide {}", a.subject_id)
        };
        entries.push(Entry {
            id: format!("urn:capwatch:alert:{}", a.id),
            title: format!("{}: {subject} — {}", a.kind, excerpt(&summary, 120)),
            updated: a.created_at,
            link,
            category: "alert",
            html: format!(
                "<p><b>{}</b> for {}: {}</p>",
                esc(&a.kind),
                esc(&subject),
                esc(&summary)
            ),
        });
    }

    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    let (feed_id, title, self_path) = match guide {
        None => (
            "urn:capwatch:feed".to_string(),
            "capwatch: page changes, status moves and alerts".to_string(),
            "/feed.atom".to_string(),
        ),
        Some(g) => (
            format!("urn:capwatch:guide:{}:feed", seg(g)),
            format!(
                "capwatch: {}",
                reg.guide(g).map(|x| x.title.as_str()).unwrap_or(g)
            ),
            format!("/guides/{}/feed.atom", seg(g)),
        ),
    };
    let updated = entries.first().map(|e| e.updated).unwrap_or(now);
    let mut x = String::with_capacity(8192 + entries.len() * 1024);
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n\
         <id>{}</id>\n<title type=\"text\">{}</title>\n<updated>{}</updated>\n\
         <author><name>capwatch</name></author>\n<generator>capwatch</generator>\n\
         <link rel=\"self\" type=\"application/atom+xml\" href=\"{}\"/>\n\
         <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n",
        esc(&feed_id),
        esc(&title),
        rfc3339(updated),
        esc(&format!("{base}{self_path}")),
        esc(&format!("{base}/"))
    );
    for e in &entries {
        let _ = write!(
            x,
            "<entry>\n <id>{}</id>\n <title type=\"text\">{}</title>\n <updated>{}</updated>\n \
             <link rel=\"alternate\" type=\"text/html\" href=\"{}\"/>\n <category term=\"{}\"/>\n \
             <content type=\"html\">{}</content>\n</entry>\n",
            esc(&e.id),
            esc(&e.title),
            rfc3339(e.updated),
            esc(&e.link),
            e.category,
            esc(&e.html)
        );
    }
    x.push_str("</feed>\n");
    Ok(x)
}
