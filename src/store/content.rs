//! The `content` table: page text, once per distinct hash, compressed with
//! zstd. Rows written before compression keep plain `body` and are read as is.

use super::db::{Db, args};
use super::{Result, Store, StoreError};

/// zstd level 1: page text about 4.5× smaller, at half the CPU of level 3
/// (measured on the benchmark pages; the ratio barely differs).
const LEVEL: i32 = 1;

/// `text` compressed the way the content table keeps it. Callers that read
/// pages on several threads pack there and hand the bytes to
/// [`CheckInput::packed`](super::CheckInput::packed), so the single writer
/// does not compress.
pub fn pack(text: &str) -> Result<Vec<u8>> {
    thread_local! {
        // A compression context holds about a megabyte of tables: make it
        // once per thread, not once per page.
        static PACKER: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    PACKER
        .with_borrow_mut(|packer| {
            if packer.is_none() {
                *packer = Some(zstd::bulk::Compressor::new(LEVEL)?);
            }
            packer
                .as_mut()
                .expect("made above")
                .compress(text.as_bytes())
        })
        .map_err(|e| StoreError::NotFound(format!("cannot compress page text: {e}")))
}

/// Store `text` under `hash` unless it is there already; `packed` is
/// [`pack`]`(text)` when the caller made it already.
pub(super) fn insert(db: &Db, hash: &str, text: &str, packed: Option<&[u8]>) -> Result<()> {
    let made;
    let packed = match packed {
        Some(p) => p,
        None => {
            made = pack(text)?;
            &made
        }
    };
    db.execute(
        "INSERT INTO content (hash, body, packed) VALUES (?1, '', ?2) ON CONFLICT (hash) DO NOTHING",
        args![hash, packed],
    )?;
    Ok(())
}

/// The text stored under `hash`, if any.
pub(super) fn read(db: &Db, hash: &str) -> Result<Option<String>> {
    let row: Option<(String, Option<Vec<u8>>)> = db.query_opt(
        "SELECT body, packed FROM content WHERE hash = ?1",
        args![hash],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    match row {
        None => Ok(None),
        Some((body, None)) => Ok(Some(body)),
        Some((_, Some(packed))) => {
            let bytes = zstd::stream::decode_all(packed.as_slice()).map_err(|e| {
                StoreError::NotFound(format!("stored text {hash} cannot be decompressed: {e}"))
            })?;
            String::from_utf8(bytes)
                .map(Some)
                .map_err(|_| StoreError::NotFound(format!("stored text {hash} is not UTF-8")))
        }
    }
}

impl Store {
    /// The stored text with this hash.
    pub fn content(&self, hash: &str) -> Result<String> {
        read(&self.db, hash)?
            .ok_or_else(|| StoreError::NotFound(format!("no content with hash {hash}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_round_trips_compressed_and_old_rows_still_read() {
        let s = crate::store::test_store();
        let text = "# Widget\nWidget is generally available.\n".repeat(200);
        insert(&s.db, "h1", &text, None).unwrap();
        assert_eq!(s.content("h1").unwrap(), text);
        let (body, packed): (String, Vec<u8>) =
            s.db.query_one(
                "SELECT body, packed FROM content WHERE hash = 'h1'",
                args![],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert!(body.is_empty());
        assert!(
            packed.len() * 10 < text.len(),
            "{} → {}",
            text.len(),
            packed.len()
        );
        // A row from before compression.
        s.db.execute(
            "INSERT INTO content (hash, body) VALUES ('h0', 'plain text')",
            args![],
        )
        .unwrap();
        assert_eq!(s.content("h0").unwrap(), "plain text");
        assert!(matches!(s.content("nope"), Err(StoreError::NotFound(_))));
    }
}
