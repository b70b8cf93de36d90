//! Proof Key for Code Exchange (RFC 7636) with the S256 method only: `plain`
//! would hand the verifier to anyone who sees the authorization request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// True for 43-128 characters of the unreserved set (RFC 7636 §4.1, §4.2).
fn well_formed(s: &str) -> bool {
    (43..=128).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// Validates a `code_challenge` with its method. Only `S256` is accepted.
pub fn check_challenge(challenge: &str, method: Option<&str>) -> Result<(), &'static str> {
    match method {
        Some("S256") => {}
        Some("plain") | None => return Err("code_challenge_method must be S256"),
        Some(_) => return Err("unsupported code_challenge_method"),
    }
    // An S256 challenge is base64url of 32 bytes: exactly 43 characters.
    if challenge.len() != 43 || !well_formed(challenge) {
        return Err("code_challenge is malformed");
    }
    Ok(())
}

/// The S256 challenge of a verifier.
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// Checks a `code_verifier` against the stored challenge in constant time.
pub fn verify(verifier: &str, challenge: &str) -> bool {
    well_formed(verifier) && bool::from(s256(verifier).as_bytes().ct_eq(challenge.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            s256(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(verify(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!verify(
            "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXK",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn plain_and_malformed_challenges_are_refused() {
        let c = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
        assert!(check_challenge(c, Some("S256")).is_ok());
        assert!(check_challenge(c, Some("plain")).is_err());
        assert!(check_challenge(c, None).is_err());
        assert!(check_challenge("short", Some("S256")).is_err());
        assert!(check_challenge(&format!("{}!", &c[..42]), Some("S256")).is_err());
    }

    #[test]
    fn short_verifiers_never_verify() {
        assert!(!verify("abc", &s256("abc")));
    }
}
