//! Links in alerts: pages under `[settings] public_url`, and signed action
//! links ("Mark reviewed", "Snooze 7 days", "Review the whole guide").
//!
//! In: the key from `CAPWATCH_SECRET` and what a link does (action, subject,
//! the owner it was sent to, the alert, an expiry). Out: a token that names
//! all of that and carries an HMAC-SHA256 of it, and back: a token checked
//! for its signature (in constant time) and its expiry at a given `now`.
//! Whether a link was used already is the store's business
//! (`action_link_use`); that a GET never changes state is the server's.

use hmac::{KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How long an action link works after the digest was sent.
pub const LINK_LIFETIME: SignedDuration = SignedDuration::from_hours(14 * 24);

/// Days a "Snooze" link silences a finding for.
pub const SNOOZE_DAYS: i64 = 7;

/// The secret that signs action links and form tokens. Never printed.
#[derive(Clone)]
pub struct LinkKey {
    key: Vec<u8>,
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

impl LinkKey {
    /// The key from `CAPWATCH_SECRET`; None when unset or empty.
    pub fn from_env(env: &dyn Fn(&str) -> Option<String>) -> Option<LinkKey> {
        env("CAPWATCH_SECRET")
            .filter(|s| !s.trim().is_empty())
            .map(|s| LinkKey::new(s.as_bytes()))
    }

    pub fn new(secret: &[u8]) -> LinkKey {
        LinkKey {
            key: secret.to_vec(),
        }
    }

    /// A key for one purpose, so a MAC made for one use (a link) is never
    /// accepted for another (a form token, a session).
    pub fn derive(&self, purpose: &str) -> LinkKey {
        LinkKey {
            key: self.mac(purpose.as_bytes()).to_vec(),
        }
    }

    /// HMAC-SHA256 of `data`.
    pub fn mac(&self, data: &[u8]) -> [u8; 32] {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(data);
        m.finalize().into_bytes().into()
    }

    /// Whether `tag` is the HMAC of `data`, compared in constant time.
    pub fn verify(&self, data: &[u8], tag: &[u8]) -> bool {
        let mut m = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key length");
        m.update(data);
        m.verify_slice(tag).is_ok()
    }

    /// A signed action link's token.
    pub fn sign(&self, link: &ActionLink) -> String {
        let payload = link.encode();
        let tag = self.derive("action-link").mac(payload.as_bytes());
        format!("{}.{}", hex::encode(payload.as_bytes()), hex::encode(tag))
    }

    /// Check a token: its signature first, then its expiry at `now`.
    pub fn open(&self, token: &str, now: Timestamp) -> Result<Verified, LinkError> {
        let (payload_hex, tag_hex) = token.split_once('.').ok_or(LinkError::Malformed)?;
        let payload = hex::decode(payload_hex).map_err(|_| LinkError::Malformed)?;
        let tag = hex::decode(tag_hex).map_err(|_| LinkError::Malformed)?;
        // Only the exact token issued: hex decoding ignores case, and a
        // link with any character changed must not work.
        if hex::encode(&payload) != payload_hex || hex::encode(&tag) != tag_hex {
            return Err(LinkError::BadSignature);
        }
        if !self.derive("action-link").verify(&payload, &tag) {
            return Err(LinkError::BadSignature);
        }
        let text = String::from_utf8(payload).map_err(|_| LinkError::Malformed)?;
        let link = ActionLink::decode(&text).ok_or(LinkError::Malformed)?;
        if now >= link.expires {
            return Err(LinkError::Expired(link.expires));
        }
        Ok(Verified {
            id: hex::encode(&tag[..16]),
            link,
        })
    }
}

/// What an action link does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Record a review of the capability (or guide) the alert is about.
    Review,
    /// Snooze the alert's finding for [`SNOOZE_DAYS`].
    Snooze,
    /// Record a review of the whole guide.
    ReviewGuide,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Review => "review",
            Action::Snooze => "snooze",
            Action::ReviewGuide => "review-guide",
        }
    }

    fn parse(s: &str) -> Option<Action> {
        match s {
            "review" => Some(Action::Review),
            "snooze" => Some(Action::Snooze),
            "review-guide" => Some(Action::ReviewGuide),
            _ => None,
        }
    }
}

/// The signed content of an action link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionLink {
    pub action: Action,
    /// `capability` or `guide`.
    pub subject_kind: String,
    pub subject_id: String,
    /// The finding kind a snooze silences (`drift`, `source_changed`…);
    /// empty for reviews.
    pub finding: String,
    /// The owner the digest went to: recorded as `by`.
    pub owner: String,
    /// The alert the link came with.
    pub alert_id: i64,
    pub expires: Timestamp,
}

impl ActionLink {
    /// Fields joined with a separator that no field may hold (registry ids,
    /// finding kinds and mailboxes hold no control characters).
    fn encode(&self) -> String {
        [
            "v1",
            self.action.as_str(),
            &self.subject_kind,
            &self.subject_id,
            &self.finding,
            &self.owner,
            &self.alert_id.to_string(),
            &self.expires.as_second().to_string(),
        ]
        .join("\u{1f}")
    }

    fn decode(s: &str) -> Option<ActionLink> {
        let f: Vec<&str> = s.split('\u{1f}').collect();
        let [v, action, kind, id, finding, owner, alert, expires] = f.as_slice() else {
            return None;
        };
        if *v != "v1" {
            return None;
        }
        Some(ActionLink {
            action: Action::parse(action)?,
            subject_kind: kind.to_string(),
            subject_id: id.to_string(),
            finding: finding.to_string(),
            owner: owner.to_string(),
            alert_id: alert.parse().ok()?,
            expires: Timestamp::from_second(expires.parse().ok()?).ok()?,
        })
    }
}

/// A token whose signature and expiry were checked.
#[derive(Debug, Clone)]
pub struct Verified {
    /// Stable per link: recorded when it is used, so it works once.
    pub id: String,
    pub link: ActionLink,
}

/// Why a link is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link is incomplete or damaged; open it from the e-mail again, whole")]
    Malformed,
    #[error(
        "this link was not issued by this capwatch, or it was changed; open it from the e-mail again, whole"
    )]
    BadSignature,
    #[error(
        "this link expired on {}; links work for 14 days — use the command in the e-mail or the dashboard",
        .0.strftime("%Y-%m-%d %H:%M UTC")
    )]
    Expired(Timestamp),
}

/// A random token (hex), for CSRF cookies.
pub fn random_token() -> String {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).expect("the system's random source works");
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(expires: &str) -> ActionLink {
        ActionLink {
            action: Action::Snooze,
            subject_kind: "capability".into(),
            subject_id: "ads-agent".into(),
            finding: "drift".into(),
            owner: "owner@example.com".into(),
            alert_id: 7,
            expires: expires.parse().unwrap(),
        }
    }

    #[test]
    fn a_signed_link_opens_until_it_expires() {
        let key = LinkKey::new(b"s3cret");
        let t = key.sign(&link("2026-12-01T00:00:00Z"));
        let v = key
            .open(&t, "2026-11-30T23:59:59Z".parse().unwrap())
            .unwrap();
        assert_eq!(v.link, link("2026-12-01T00:00:00Z"));
        assert_eq!(v.id.len(), 32);
        assert!(matches!(
            key.open(&t, "2026-12-01T00:00:00Z".parse().unwrap()),
            Err(LinkError::Expired(_))
        ));
    }

    #[test]
    fn any_changed_byte_or_another_key_is_refused() {
        let key = LinkKey::new(b"s3cret");
        let now: Timestamp = "2026-11-01T00:00:00Z".parse().unwrap();
        let t = key.sign(&link("2026-12-01T00:00:00Z"));
        for i in 0..t.len() {
            let mut b = t.clone().into_bytes();
            b[i] = if b[i] == b'0' { b'1' } else { b'0' };
            let changed = String::from_utf8(b).unwrap();
            if changed == t {
                continue;
            }
            assert!(
                key.open(&changed, now).is_err(),
                "byte {i} changed: accepted"
            );
        }
        assert_eq!(
            LinkKey::new(b"other").open(&t, now).err(),
            Some(LinkError::BadSignature)
        );
        // Hex ignores case; the link must not.
        for (i, c) in t.char_indices().filter(|(_, c)| c.is_ascii_lowercase()) {
            let mut changed = t.clone();
            changed.replace_range(i..i + 1, &c.to_ascii_uppercase().to_string());
            assert!(
                key.open(&changed, now).is_err(),
                "upper case at {i}: accepted"
            );
        }
        assert_eq!(key.open("nonsense", now).err(), Some(LinkError::Malformed));
    }

    #[test]
    fn the_key_is_redacted() {
        assert_eq!(
            format!("{:?}", LinkKey::new(b"s3cret")),
            "LinkKey(<redacted>)"
        );
        let env = |k: &str| (k == "CAPWATCH_SECRET").then(|| "x".to_string());
        assert!(LinkKey::from_env(&env).is_some());
        assert!(LinkKey::from_env(&|_| Some(" ".into())).is_none());
    }
}
