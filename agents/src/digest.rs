//! Short, stable digests for parser states: a saved state keeps a digest where it would otherwise keep a text
//! or an ID, and must read the same in every build, which `std`'s hashers do not promise.

/// The first 8 bytes of the SHA-256 of `bytes`.
pub(crate) fn digest(bytes: &[u8]) -> u64 {
    use sha2::{Digest, Sha256};
    let hash = Sha256::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_le_bytes(first)
}
