//! Atom 1.0 feeds (`/feed.atom`, `/guides/{id}/feed.atom`): page changes,
//! observed status moves and alerts, newest first, written by
//! atom_syndication. Titles are text (XML-escaped once by the writer);
//! contents are `type="html"`: maud builds the HTML with every untrusted
//! string escaped, then the writer XML-escapes the whole HTML again.

use super::html::seg;
use super::{Error, PageError, ServeState, base_url};
use crate::config::Registry;
use crate::report::excerpt;
use crate::store::Store;
use atom_syndication::{Category, Content, Entry, Feed, FixedDateTime, Generator, Link, Person};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use maud::{Markup, html};

/// Entries of each kind in one feed.
const PER_KIND: usize = 50;
/// Changes whose diff excerpt is included (diffs cost a read of both versions).
const WITH_DIFF: usize = 10;
/// Changed lines shown in a diff excerpt.
const DIFF_EXCERPT_LINES: usize = 30;

/// `GET /feed.atom`.
#[utoipa::path(get, path = "/feed.atom", operation_id = "getFeed", tag = "feeds",
    summary = "Atom 1.0 feed of page changes, observed status moves and alerts, newest first.",
    responses((status = 200, description = "Atom feed.", content_type = "application/atom+xml", body = String)))]
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
#[utoipa::path(get, path = "/guides/{id}/feed.atom", operation_id = "getGuideFeed", tag = "feeds",
    params(("id" = String, Path, description = "The guide id from the registry.")),
    summary = "The Atom feed limited to one guide.",
    responses(
        (status = 200, description = "Atom feed.", content_type = "application/atom+xml", body = String),
        (status = 404, description = "No such guide.", content_type = "text/html", body = String),
    ))]
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

/// Characters XML 1.0 forbids (most C0 controls, U+FFFE, U+FFFF) dropped,
/// so a feed stays well-formed whatever a page contained: the writer escapes
/// markup but passes these through.
fn xml_chars(s: &str) -> String {
    s.chars()
        .filter(|&c| {
            matches!(c, '\t' | '\n' | '\r') || (c >= ' ' && c != '\u{fffe}' && c != '\u{ffff}')
        })
        .collect()
}

/// An Atom date: the instant in UTC, to the millisecond.
fn when(t: Timestamp) -> FixedDateTime {
    chrono::DateTime::from_timestamp_millis(t.as_millisecond())
        .unwrap_or_default()
        .fixed_offset()
}

fn link(href: String, rel: &str, mime_type: &str) -> Link {
    Link {
        href,
        rel: rel.to_string(),
        mime_type: Some(mime_type.to_string()),
        ..Default::default()
    }
}

fn entry(
    id: String,
    title: &str,
    updated: Timestamp,
    href: String,
    category: &str,
    content: Markup,
) -> Entry {
    Entry {
        id,
        title: xml_chars(title).into(),
        updated: when(updated),
        links: vec![link(href, "alternate", "text/html")],
        categories: vec![Category {
            term: category.to_string(),
            ..Default::default()
        }],
        content: Some(Content {
            value: Some(xml_chars(&content.into_string())),
            content_type: Some("html".to_string()),
            ..Default::default()
        }),
        ..Default::default()
    }
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
    // With `public_url` the links point there, whatever Host the reader used.
    let public = reg.settings.public_link("");
    let base = public.as_deref().unwrap_or(base);
    let guide_of = |cap_id: &str| reg.capability(cap_id).map(|c| c.guide.clone());
    // Links to the capability's and its guide's pages, under every entry.
    let pages = |cap_id: Option<&str>, guide_id: Option<&str>, changes: &[i64]| {
        html! {
            p.links {
                @if let Some(c) = cap_id {
                    a href={ (base) "/capabilities/" (seg(c)) } { "Capability page" }
                }
                @for id in changes {
                    " · " a href={ (base) "/changes/" (id) } { "Change #" (id) }
                }
                @if let Some(g) = guide_id {
                    " · " a href={ (base) "/#guide-" (seg(g)) } { "Guide page" }
                }
            }
        }
    };
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
    // The guides' own pages are watched too: their edits are "guide changed" entries.
    let source_ids: Vec<String> = caps
        .iter()
        .flat_map(|c| c.sources.iter().map(|s| s.id.clone()))
        .chain(
            reg.guides
                .iter()
                .filter(|g| g.url.is_some() && guide.is_none_or(|id| g.id == id))
                .map(|g| crate::store::guide_source_id(&g.id)),
        )
        .collect();
    let cap_ids: Vec<String> = caps.iter().map(|c| c.id.clone()).collect();
    let mut entries = Vec::new();

    for (i, c) in store
        .recent_changes(&source_ids, PER_KIND)?
        .into_iter()
        .enumerate()
    {
        let cap = reg.source(&c.source_id).map(|s| s.capability.clone());
        let name = match c.source_id.strip_prefix("guide:") {
            Some(g) => format!(
                "the guide \"{}\"",
                reg.guide(g).map_or(g, |g| g.title.as_str())
            ),
            None => cap.as_deref().map(cap_name).unwrap_or_default(),
        };
        let href = format!("{base}/changes/{}", c.id);
        let mut changed = Vec::new();
        if i < WITH_DIFF {
            let old = store.content(&c.from.hash)?;
            let new = store.content(&c.to.hash)?;
            changed = crate::diff::lines(&old, &new)
                .into_iter()
                .filter(|l| l.tag == "+" || l.tag == "-")
                .take(DIFF_EXCERPT_LINES)
                .map(|l| format!("{} {}", l.tag, excerpt(&l.text, 300)))
                .collect();
        }
        let content = html! {
            p {
                (c.source_id) " (" (name) ") changed from snapshot " (c.from.seq) " to "
                (c.to.seq) ": +" (c.added) " −" (c.removed) " lines. "
                a href=(href) { "See the diff" } "."
            }
            @if !changed.is_empty() { pre { (changed.join("\n")) } }
            (pages(cap.as_deref(), cap.as_deref().and_then(guide_of).as_deref(), &[c.id]))
        };
        let title = format!(
            "{name}: {} changed (snapshot {} → {})",
            c.source_id, c.from.seq, c.to.seq
        );
        entries.push(entry(
            format!("urn:capwatch:change:{}", c.id),
            &title,
            c.at,
            href,
            "change",
            content,
        ));
    }

    for o in store.recent_observations(&cap_ids, PER_KIND)? {
        let name = cap_name(&o.capability_id);
        let content = html! {
            p {
                (o.source_id) " now says " (name) " is " b { (o.status.stage.as_str()) }
                " (access " (o.status.access.as_str()) ", regions " (o.status.regions) ")."
            }
            @for e in &o.evidence {
                blockquote { "“" (e.quote) "”" }
                p { (e.dimension) " = " (e.value) " (" (e.rule) ")" }
            }
            @for n in &o.notes { p { "Note: " (n) } }
            (pages(Some(&o.capability_id), guide_of(&o.capability_id).as_deref(), &[]))
        };
        entries.push(entry(
            format!("urn:capwatch:observation:{}", o.id),
            &format!("{name}: {} now says {}", o.source_id, o.status),
            o.at,
            format!("{base}/capabilities/{}", seg(&o.capability_id)),
            "observation",
            content,
        ));
    }

    for a in store.recent_alerts(guide, PER_KIND)? {
        let summary = a
            .payload
            .get("summary")
            .and_then(|v| v.as_str())
            .unwrap_or_default();
        let (href, subject) = if a.subject_kind == "capability" {
            (
                format!("{base}/capabilities/{}", seg(&a.subject_id)),
                cap_name(&a.subject_id),
            )
        } else {
            (
                format!("{base}/#guide-{}", seg(&a.guide_id)),
                format!("guide {}", a.subject_id),
            )
        };
        entries.push(entry(
            format!("urn:capwatch:alert:{}", a.id),
            &format!("{}: {subject} — {}", a.kind, excerpt(summary, 120)),
            a.created_at,
            href,
            "alert",
            html! {
                p { b { (a.kind) } " for " (subject) ": " (summary) }
                (pages(
                    (a.subject_kind == "capability").then_some(a.subject_id.as_str()),
                    Some(&a.guide_id),
                    &a.payload
                        .get("change_ids")
                        .and_then(|v| v.as_array())
                        .map(|v| v.iter().filter_map(|x| x.as_i64()).collect::<Vec<_>>())
                        .unwrap_or_default(),
                ))
            },
        ));
    }

    entries.sort_by_key(|e| std::cmp::Reverse(e.updated));
    let (id, title, self_path) = match guide {
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
    let feed = Feed {
        id,
        title: xml_chars(&title).into(),
        updated: entries.first().map_or_else(|| when(now), |e| e.updated),
        authors: vec![Person {
            name: "capwatch".to_string(),
            ..Default::default()
        }],
        generator: Some(Generator {
            value: "capwatch".to_string(),
            ..Default::default()
        }),
        links: vec![
            link(format!("{base}{self_path}"), "self", "application/atom+xml"),
            link(format!("{base}/"), "alternate", "text/html"),
        ],
        entries,
        ..Default::default()
    };
    let xml = feed
        .write_to(Vec::new())
        .map_err(|e| Error::internal(format!("writing the feed failed: {e}")))?;
    String::from_utf8(xml).map_err(|e| Error::internal(format!("the feed is not UTF-8: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn characters_xml_forbids_are_dropped() {
        assert_eq!(
            xml_chars("a\u{1}b\u{b}\u{fffe}\tc\r\n\u{ffff}é"),
            "ab\tc\r\né"
        );
        let e = entry(
            "urn:x".into(),
            "t\u{0}<b>",
            Timestamp::UNIX_EPOCH,
            "http://h/".into(),
            "change",
            html! { p { "x\u{7}<y>" } },
        );
        let xml = Feed {
            entries: vec![e],
            ..Default::default()
        }
        .write_to(Vec::new())
        .unwrap();
        let xml = String::from_utf8(xml).unwrap();
        assert!(xml.contains("<title>t&lt;b&gt;</title>"), "{xml}");
        assert!(
            xml.contains("&lt;p&gt;x&amp;lt;y&amp;gt;&lt;/p&gt;"),
            "{xml}"
        );
        assert!(
            xml.contains("<updated>1970-01-01T00:00:00+00:00</updated>"),
            "{xml}"
        );
    }
}
