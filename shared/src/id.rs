//! Identifier newtypes. Holding one proves its format: they are only built through `parse`/`derive`.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

fn is_lower_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `ses_` and 8 to 40 lowercase hex digits (the seed's "Session ID Format").
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct SessionId(String);

/// A string that is not a valid session ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid session ID format {given:?}: must be ses_ + 8-40 lowercase hex chars")]
pub struct InvalidSessionId {
    /// What was given, verbatim.
    pub given: String,
}

impl SessionId {
    /// The number of hex digits in IDs this implementation derives.
    pub const DERIVED_HEX_LEN: usize = 16;

    /// Parse `ses_` + 8..=40 lowercase hex.
    pub fn parse(s: &str) -> Result<Self, InvalidSessionId> {
        let hex = s.strip_prefix("ses_").unwrap_or("");
        if (8..=40).contains(&hex.len()) && is_lower_hex(hex) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidSessionId { given: s.to_owned() })
        }
    }

    /// Derive the ID of a captured session from the agent's own session ID.
    ///
    /// Compatible with the original for UUID-shaped IDs (`ses_` + the first 16 hex digits, dashes removed,
    /// lowercased), so sessions keep their IDs when users move over. Anything that is not hex after that
    /// normalisation (Amp's `T-…`, `thr_…`) or is shorter than 8 digits is hashed with SHA-256 instead, so
    /// every derived ID is valid (the original produced IDs its own server rejected).
    pub fn derive(native_id: &str) -> Self {
        let normalised: String = native_id.chars().filter(|c| *c != '-').flat_map(char::to_lowercase).collect();
        if normalised.len() >= 8 && is_lower_hex(&normalised) {
            let take = normalised.len().min(Self::DERIVED_HEX_LEN);
            return Self(format!("ses_{}", &normalised[..take]));
        }
        Self::hashed(native_id)
    }

    /// `ses_` + the first 16 hex digits of SHA-256 over `seed`: for IDs minted from arbitrary text.
    pub fn hashed(seed: &str) -> Self {
        let digest = Sha256::digest(seed.as_bytes());
        let hex: String = digest.iter().take(Self::DERIVED_HEX_LEN / 2).map(|b| format!("{b:02x}")).collect();
        Self(format!("ses_{hex}"))
    }

    /// The ID as text, `ses_…`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hex part after `ses_`.
    pub fn hex(&self) -> &str {
        &self.0[4..]
    }
}

impl FromStr for SessionId {
    type Err = InvalidSessionId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for SessionId {
    type Error = InvalidSessionId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<SessionId> for String {
    fn from(id: SessionId) -> Self {
        id.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `hnd_` and exactly 16 lowercase hex digits.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HandoffId(String);

/// A string that is not a valid handoff ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid handoff ID format {given:?}: must be hnd_ + 16 lowercase hex chars")]
pub struct InvalidHandoffId {
    /// What was given, verbatim.
    pub given: String,
}

impl HandoffId {
    /// Parse `hnd_` + 16 lowercase hex.
    pub fn parse(s: &str) -> Result<Self, InvalidHandoffId> {
        let hex = s.strip_prefix("hnd_").unwrap_or("");
        if hex.len() == 16 && is_lower_hex(hex) {
            Ok(Self(s.to_owned()))
        } else {
            Err(InvalidHandoffId { given: s.to_owned() })
        }
    }

    /// Build one from 8 random bytes (the caller supplies the randomness; this crate has none).
    pub fn from_random(bytes: [u8; 8]) -> Self {
        Self(format!("hnd_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()))
    }

    /// The ID as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for HandoffId {
    type Err = InvalidHandoffId;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<String> for HandoffId {
    type Error = InvalidHandoffId;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<HandoffId> for String {
    fn from(id: HandoffId) -> Self {
        id.0
    }
}

impl fmt::Display for HandoffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for HandoffId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rstest::rstest;

    #[rstest]
    #[case("ses_ae7652a4")]
    #[case("ses_346b4d7288214b0f")]
    #[case("ses_a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2")]
    fn seed_examples_are_valid(#[case] s: &str) {
        assert_eq!(SessionId::parse(s).unwrap().as_str(), s);
    }

    #[rstest]
    #[case("ses_ae7652a")] // 7 hex
    #[case("ses_a1b2c3d4e5f6a1b2c3d4e5f6a1b2c3d4e5f6a1b2c")] // 41 hex
    #[case("ses_AE7652A4")] // upper case
    #[case("ses_thr_abc123def456")] // the original's Amp bug
    #[case("ae7652a4")]
    #[case("ses_ae7652g4")]
    #[case("")]
    #[case("ses_ae7652a4 ")]
    fn bad_ids_are_refused_with_the_seed_message(#[case] s: &str) {
        let err = SessionId::parse(s).unwrap_err();
        assert!(err.to_string().contains("must be ses_ + 8-40 lowercase hex chars"), "{err}");
        assert_eq!(err.given, s);
    }

    #[test]
    fn derive_keeps_the_originals_ids_for_uuids() {
        let id = SessionId::derive("019D0A84-0c2f-7163-8491-0dd9ff93f4b8");
        assert_eq!(id.as_str(), "ses_019d0a840c2f7163");
    }

    #[rstest]
    #[case("T-7f39aa00-0000")]
    #[case("thr_abc123def456")]
    #[case("abc")]
    #[case("")]
    #[case("日本語")]
    fn derive_hashes_non_hex_ids_into_valid_ones(#[case] native: &str) {
        let id = SessionId::derive(native);
        assert!(SessionId::parse(id.as_str()).is_ok());
        assert_eq!(id, SessionId::derive(native), "deterministic");
    }

    #[test]
    fn serde_refuses_bad_ids() {
        let err = serde_json::from_str::<SessionId>("\"ses_XYZ\"").unwrap_err();
        assert!(err.to_string().contains("lowercase hex"));
        let ok: SessionId = serde_json::from_str("\"ses_ae7652a4\"").unwrap();
        assert_eq!(serde_json::to_string(&ok).unwrap(), "\"ses_ae7652a4\"");
    }

    #[test]
    fn handoff_ids() {
        assert!(HandoffId::parse("hnd_0123456789abcdef").is_ok());
        assert!(HandoffId::parse("hnd_0123456789abcde").is_err());
        assert!(HandoffId::parse("hnd_0123456789ABCDEF").is_err());
        let id = HandoffId::from_random([0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3]);
        assert_eq!(id.as_str(), "hnd_deadbeef00010203");
    }

    proptest! {
        #[test]
        fn every_derived_id_is_valid(native in ".*") {
            prop_assert!(SessionId::parse(SessionId::derive(&native).as_str()).is_ok());
        }

        #[test]
        fn valid_ids_round_trip(hex in "[0-9a-f]{8,40}") {
            let s = format!("ses_{hex}");
            let id = SessionId::parse(&s).unwrap();
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(serde_json::from_str::<SessionId>(&json).unwrap(), id);
        }

        #[test]
        fn parse_never_accepts_upper_case(hex in "[0-9a-f]{0,39}[A-F][0-9a-fA-F]{0,10}") {
            let s = format!("ses_{hex}");
            prop_assert!(SessionId::parse(&s).is_err());
        }
    }
}
