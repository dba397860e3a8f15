//! Extract stage (placeholder until the extraction work lands on main).

/// Compiled CSS selection of a source.
#[derive(Debug, Clone)]
pub struct Selection {
    select: String,
}

impl Selection {
    pub fn new(select: &str, ignore: &[String]) -> Result<Selection, String> {
        for s in std::iter::once(select).chain(ignore.iter().map(String::as_str)) {
            scraper::Selector::parse(s)
                .map_err(|e| format!("CSS selector `{s}` is not valid: {e}"))?;
        }
        Ok(Selection {
            select: select.to_string(),
        })
    }

    pub fn default_select() -> &'static str {
        "main, article, body"
    }

    pub fn select_source(&self) -> &str {
        &self.select
    }
}

use crate::model::Page;

pub enum ContentKind {
    Html,
    Markdown,
    Text,
    Json,
}

pub fn content_kind(_content_type: Option<&str>, _path: &str) -> ContentKind {
    ContentKind::Html
}

#[derive(thiserror::Error, Debug)]
pub enum ExtractError {
    #[error("selector `{0}` matched nothing")]
    NoMatch(String),
    #[error("unreadable: {0}")]
    Unreadable(String),
}

pub fn extract(
    _body: &[u8],
    _kind: ContentKind,
    _selection: &Selection,
) -> Result<Page, ExtractError> {
    Ok(Page::default())
}

pub fn content_hash(text: &str) -> String {
    text.len().to_string()
}
