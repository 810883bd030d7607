//! API keys: `smfa_<id>_<secret>`. The id (16 hex digits) finds the stored
//! record without a scan; only HMAC-SHA256(hash secret, secret) is stored,
//! and comparisons go through `hmac`'s constant-time verify.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64URL;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Prefix of every API key, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "smfa_";
/// Random bytes in a key id (16 hex digits).
const ID_BYTES: usize = 8;
/// Random bytes in a key secret: 256 bits, beyond any guessing attack.
const SECRET_BYTES: usize = 32;

/// A key as presented by a caller, split into its parts. `Debug` hides the
/// secret.
pub struct PresentedKey<'a> {
    pub id: &'a str,
    secret: &'a str,
}

impl fmt::Debug for PresentedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedKey").field("id", &self.id).field("secret", &"<redacted>").finish()
    }
}

/// Splits `smfa_<id>_<secret>`, or returns `None` for anything else.
pub fn parse_key(text: &str) -> Option<PresentedKey<'_>> {
    let rest = text.strip_prefix(KEY_PREFIX)?;
    let (id, secret) = rest.split_at_checked(ID_BYTES * 2)?;
    let secret = secret.strip_prefix('_')?;
    let valid_id = id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c));
    if !valid_id || secret.is_empty() {
        return None;
    }
    Some(PresentedKey { id, secret })
}

/// True when `id` has the form of a key id (used to validate path values).
pub fn is_key_id(id: &str) -> bool {
    id.len() == ID_BYTES * 2 && id.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// A newly created key: the full text, shown to its creator once, and the
/// hash to store. `Debug` hides the text.
pub struct NewKey {
    pub id: String,
    pub text: String,
    pub hash: Vec<u8>,
}

impl fmt::Debug for NewKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NewKey").field("id", &self.id).field("text", &"<redacted>").finish()
    }
}

/// Creates a key from the random source, hashed under `hash_secret`.
pub fn generate_key(hash_secret: &[u8]) -> Result<NewKey, getrandom::Error> {
    let mut id = [0u8; ID_BYTES];
    let mut secret = [0u8; SECRET_BYTES];
    getrandom::fill(&mut id)?;
    getrandom::fill(&mut secret)?;

    let id: String = id.iter().map(|b| format!("{b:02x}")).collect();
    let secret = BASE64URL.encode(secret);
    let hash = hash_secret_text(hash_secret, &secret);
    Ok(NewKey { text: format!("{KEY_PREFIX}{id}_{secret}"), id, hash })
}

/// HMAC-SHA256 of a key secret under the configured hash secret.
pub fn hash_secret_text(hash_secret: &[u8], secret: &str) -> Vec<u8> {
    keyed_mac(hash_secret, secret.as_bytes()).finalize().into_bytes().to_vec()
}

/// True when the presented key's secret hashes to `stored_hash`, compared
/// in constant time.
pub fn verify_key(hash_secret: &[u8], presented: &PresentedKey<'_>, stored_hash: &[u8]) -> bool {
    keyed_mac(hash_secret, presented.secret.as_bytes()).verify_slice(stored_hash).is_ok()
}

/// True when `presented` equals `expected`, in time independent of where
/// they differ: both are hashed under `hash_secret` and the tags compared
/// with a constant-time verify, which also hides the expected length.
pub fn secrets_equal(hash_secret: &[u8], presented: &[u8], expected: &[u8]) -> bool {
    let expected_tag = keyed_mac(hash_secret, expected).finalize().into_bytes();
    keyed_mac(hash_secret, presented).verify_slice(&expected_tag).is_ok()
}

fn keyed_mac(key: &[u8], message: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH_SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    #[test]
    fn generated_key_parses_and_verifies() {
        let key = generate_key(HASH_SECRET).unwrap();
        let presented = parse_key(&key.text).unwrap();
        assert_eq!(presented.id, key.id);
        assert!(verify_key(HASH_SECRET, &presented, &key.hash));
        assert!(!verify_key(b"another hash secret", &presented, &key.hash));
    }

    #[test]
    fn secrets_may_contain_underscores() {
        let presented = parse_key("smfa_0123456789abcdef_a_b-c").unwrap();
        assert_eq!(presented.id, "0123456789abcdef");
        assert_eq!(presented.secret, "a_b-c");
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        for text in ["", "smfa_", "smfa_0123456789abcdef", "smfa_0123456789abcdef_", "smfa_0123456789ABCDEF_x", "key_0123456789abcdef_x"] {
            assert!(parse_key(text).is_none(), "{text:?}");
        }
    }

    #[test]
    fn debug_hides_the_secret() {
        let key = generate_key(HASH_SECRET).unwrap();
        let secret = key.text.rsplit_once('_').unwrap().1.to_string();
        assert!(!format!("{key:?}").contains(&secret));
        assert!(!format!("{:?}", parse_key(&key.text).unwrap()).contains(&secret));
    }

    #[test]
    fn secrets_equal_compares_whole_values() {
        assert!(secrets_equal(HASH_SECRET, b"admin-key", b"admin-key"));
        assert!(!secrets_equal(HASH_SECRET, b"admin-ke", b"admin-key"));
        assert!(!secrets_equal(HASH_SECRET, b"", b"admin-key"));
    }
}
