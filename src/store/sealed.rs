//! AES-256-GCM sealing of seeds for the sealed-table secret store.
//!
//! Each seed is sealed under the configured key with a fresh random 96-bit
//! nonce. The app id is bound in as associated data, so a sealed seed copied
//! onto another app's row fails to open instead of producing that app's
//! codes from the wrong seed.

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

use crate::config::SealKey;
use crate::otp::Seed;

/// Format version stored with each sealed seed, so the layout can change.
pub const FORMAT_VERSION: u32 = 1;
const NONCE_BYTES: usize = 12;

/// A sealed seed as stored: nonce and ciphertext (with its 16-byte tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedSeed {
    pub nonce: Vec<u8>,
    pub ciphertext: Vec<u8>,
}

/// Seals `seed` for app `app_id`. Fails only if the platform has no
/// random source.
pub fn seal(key: &SealKey, app_id: &str, seed: &Seed) -> Result<SealedSeed, String> {
    let mut nonce = [0u8; NONCE_BYTES];
    getrandom::fill(&mut nonce).map_err(|e| format!("no random source for the nonce: {e}"))?;
    let cipher = Aes256Gcm::new_from_slice(&key.0).expect("key is 32 bytes");
    let payload = Payload { msg: seed.as_bytes(), aad: &associated_data(app_id) };
    let ciphertext = cipher
        .encrypt(Nonce::from_slice(&nonce), payload)
        .map_err(|_| "AES-GCM encryption failed".to_string())?;
    Ok(SealedSeed { nonce: nonce.to_vec(), ciphertext })
}

/// Opens a sealed seed. Fails when the key, the app id or the bytes differ
/// from those used to seal it.
pub fn open(key: &SealKey, app_id: &str, sealed: &SealedSeed) -> Result<Seed, String> {
    if sealed.nonce.len() != NONCE_BYTES {
        return Err(format!("nonce is {} bytes; expected {NONCE_BYTES}", sealed.nonce.len()));
    }
    let cipher = Aes256Gcm::new_from_slice(&key.0).expect("key is 32 bytes");
    let payload = Payload { msg: &sealed.ciphertext, aad: &associated_data(app_id) };
    cipher
        .decrypt(Nonce::from_slice(&sealed.nonce), payload)
        .map(Seed::from_bytes)
        .map_err(|_| "authentication failed; the seal key or the app id does not match".to_string())
}

fn associated_data(app_id: &str) -> Vec<u8> {
    format!("sharedmfa-seed-v{FORMAT_VERSION}:{app_id}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: SealKey = SealKey([7u8; 32]);

    fn seed() -> Seed {
        Seed::from_base32("JBSWY3DPEHPK3PXP", "secret").unwrap()
    }

    #[test]
    fn seal_then_open_returns_seed() {
        let sealed = seal(&KEY, "app-1", &seed()).unwrap();
        assert_eq!(sealed.ciphertext.len(), 10 + 16);
        assert_eq!(open(&KEY, "app-1", &sealed).unwrap(), seed());
    }

    #[test]
    fn nonces_differ_between_seals() {
        let first = seal(&KEY, "app-1", &seed()).unwrap();
        let second = seal(&KEY, "app-1", &seed()).unwrap();
        assert_ne!(first.nonce, second.nonce);
        assert_ne!(first.ciphertext, second.ciphertext);
    }

    #[test]
    fn open_fails_for_other_app_or_key() {
        let sealed = seal(&KEY, "app-1", &seed()).unwrap();
        let expected = "authentication failed; the seal key or the app id does not match";
        assert_eq!(open(&KEY, "app-2", &sealed).unwrap_err(), expected);
        assert_eq!(open(&SealKey([8u8; 32]), "app-1", &sealed).unwrap_err(), expected);
    }
}
