//! One-time recovery codes: what a user types when the authenticator is
//! lost. Shown once, stored as hashes, each accepted once.

use crate::domain::secret;

use super::totp::base32;

/// Codes made at a time.
pub const COUNT: usize = 10;
/// Characters per code (base32: 60 bits, so that even a copy of the
/// database cannot feasibly search for them), shown in groups of four.
const LEN: usize = 12;

/// A new set of codes, as shown to the user.
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let chars = base32(&secret::random_bytes::<8>()).to_lowercase();
            format!("{}-{}-{}", &chars[..4], &chars[4..8], &chars[8..LEN])
        })
        .collect()
}

/// The code as stored: lower case, without the dash or spaces; `None` for
/// anything that cannot be a recovery code.
pub fn normalise(presented: &str) -> Option<String> {
    let code: String = presented
        .chars()
        .filter(|c| *c != '-' && !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let valid = code.len() == LEN && code.bytes().all(|b| matches!(b, b'a'..=b'z' | b'2'..=b'7'));
    valid.then_some(code)
}

/// What is stored for a user's code: salted with the user, so one search
/// cannot cover every user's codes at once.
pub fn hash(user_id: i32, normalised: &str) -> [u8; 32] {
    secret::hash_secret(&format!("recovery-code|{user_id}|{normalised}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_read_back_however_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), COUNT);
        let code = &codes[0];
        assert_eq!(code.len(), 14);
        let plain = code.replace('-', "");
        assert_eq!(normalise(code).as_deref(), Some(plain.as_str()));
        let typed = format!(" {} ", code.to_uppercase().replace('-', " "));
        assert_eq!(normalise(&typed).as_deref(), Some(plain.as_str()));
    }

    #[test]
    fn six_digit_codes_and_junk_are_not_recovery_codes() {
        for bad in [
            "123456",
            "",
            "abcd-efgh-ijk",
            "abcd-efgh-ijkl2",
            "abcd-efgh-ij1k",
        ] {
            assert_eq!(normalise(bad), None, "{bad}");
        }
    }
}
