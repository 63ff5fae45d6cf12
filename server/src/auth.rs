//! API keys: `sk_sfs_` + 32 lowercase hex, random from the OS, stored only as a SHA-256 hash and compared
//! in constant time.

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The prefix of every key.
pub const KEY_PREFIX: &str = "sk_sfs_";

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    // The OS random source failing is unrecoverable for a server that mints credentials.
    #[allow(clippy::expect_used)]
    getrandom::fill(&mut buf).expect("the operating system's random source is unavailable");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A new API key.
pub fn new_key() -> String {
    format!("{KEY_PREFIX}{}", random_hex(16))
}

/// Hex SHA-256 of a key (what is stored).
pub fn hash_key(key: &str) -> String {
    sha256_hex(key.as_bytes())
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether `key` hashes to `stored`, in time independent of where they differ.
pub fn key_matches(key: &str, stored: &str) -> bool {
    hash_key(key).as_bytes().ct_eq(stored.as_bytes()).into()
}

/// Whether a string has the key format (cheap rejection before any lookup).
pub fn looks_like_key(s: &str) -> bool {
    s.strip_prefix(KEY_PREFIX)
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
}

/// The part of a key shown in listings.
pub fn display_prefix(key: &str) -> String {
    key.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_have_the_format_and_hash_stably() {
        let k = new_key();
        assert!(looks_like_key(&k), "{k}");
        assert_ne!(k, new_key());
        let h = hash_key(&k);
        assert_eq!(h.len(), 64);
        assert!(key_matches(&k, &h));
        assert!(!key_matches("sk_sfs_00000000000000000000000000000000", &h));
        assert!(!looks_like_key("sk_sfs_XYZ"));
        assert_eq!(display_prefix(&k).len(), 12);
    }
}
