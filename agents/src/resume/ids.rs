//! Fresh identifiers for native sessions, messages and turns, in the shapes the agents use.

use sessionfs_shared::Timestamp;

fn random<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if getrandom::fill(&mut buf).is_err() {
        // No OS randomness (practically never): mix the clock in, so IDs still differ between runs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
            .to_le_bytes();
        for (i, b) in buf.iter_mut().enumerate() {
            *b = nanos[i % nanos.len()] ^ (i as u8).wrapping_mul(151);
        }
    }
    buf
}

fn format_uuid(b: [u8; 16]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// A random (version 4) UUID, as Claude Code and Gemini CLI use for sessions and messages.
pub(crate) fn uuid_v4() -> String {
    let mut b = random::<16>();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(b)
}

/// A time-ordered (version 7) UUID, as Codex uses for threads and turns.
pub(crate) fn uuid_v7(at: Timestamp) -> String {
    let mut b = random::<16>();
    let ms = at.millis().max(0) as u64;
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    format_uuid(b)
}

/// `n` random lowercase hex digits.
pub(crate) fn hex(n: usize) -> String {
    let bytes = random::<32>();
    bytes.iter().map(|x| format!("{x:02x}")).collect::<String>().chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes() {
        let v4 = uuid_v4();
        assert_eq!(v4.len(), 36);
        assert_eq!(&v4[14..15], "4");
        let at = Timestamp::from_millis(1_795_489_283_491).unwrap();
        let v7 = uuid_v7(at);
        assert!(v7.starts_with("01a20b80-"), "{v7}");
        assert_eq!(&v7[14..15], "7");
        assert_ne!(uuid_v4(), uuid_v4());
        assert_eq!(hex(24).len(), 24);
    }
}
