//! Checking one access token against one key: the JOSE header first (RFC
//! 7515 §4, RFC 9068 §4 steps 1-2: a configured algorithm and `typ:
//! at+jwt`), then the signature and the claims (RFC 9068 §4 steps 3-6,
//! RFC 7519 §4.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;

use crate::claims::Claims;
use crate::config::SigningAlgorithm;
use crate::error::VerifyError;

/// The JOSE `typ` of an access token (RFC 9068 §2.1).
const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// What the claims must say.
#[derive(Debug, Clone)]
pub(crate) struct Expectations {
    pub issuer: String,
    pub audience: String,
    pub leeway_secs: u64,
    /// The algorithms the resource server accepts.
    pub algorithms: Vec<SigningAlgorithm>,
}

/// The header members we act on. `jku`, `x5u` and `jwk` are ignored on
/// purpose: keys come only from the issuer's JWKS, never from the token.
#[derive(Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    typ: Option<String>,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    crit: Option<serde_json::Value>,
}

/// Checks the header without any key and returns the `kid` to look up and
/// the configured algorithm the header names. Done by hand rather than with
/// `jsonwebtoken::decode_header`, which fails on `alg: none` with a generic
/// error instead of naming the algorithm.
pub(crate) fn check_header(
    token: &str,
    accepted: &[SigningAlgorithm],
) -> Result<(String, SigningAlgorithm), VerifyError> {
    let mut parts = token.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(VerifyError::Malformed);
    };
    let json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| VerifyError::Malformed)?;
    let header: RawHeader = serde_json::from_slice(&json).map_err(|_| VerifyError::Malformed)?;
    let Some(alg) = accepted.iter().copied().find(|a| a.name() == header.alg) else {
        return Err(VerifyError::UnsupportedAlgorithm);
    };
    // RFC 7515 §4.1.11: extensions listed in `crit` must be understood, and
    // we understand none.
    if header.crit.is_some() {
        return Err(VerifyError::Malformed);
    }
    if !header.typ.as_deref().is_some_and(is_access_token_typ) {
        return Err(VerifyError::WrongType);
    }
    Ok((header.kid.ok_or(VerifyError::UnknownKey)?, alg))
}

/// RFC 9068 §2.1 with RFC 7515 §4.1.9: the `application/` prefix may be
/// left out, and media types compare case-insensitively.
fn is_access_token_typ(typ: &str) -> bool {
    let typ = match typ.get(..12) {
        Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &typ[12..],
        _ => typ,
    };
    typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
}

/// Verifies the signature with `key` and `alg` (from [`check_header`]),
/// then `exp`/`nbf` (by jsonwebtoken), `iat`, `iss` and `aud`. `now` is
/// seconds since the Unix epoch.
pub(crate) fn check_claims(
    token: &str,
    key: &DecodingKey,
    alg: SigningAlgorithm,
    expected: &Expectations,
    now: i64,
) -> Result<Claims, VerifyError> {
    let mut validation = Validation::new(alg.jwt());
    validation.leeway = expected.leeway_secs;
    validation.validate_nbf = true;
    // Issuer and audience are compared below, to report them precisely.
    validation.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(token, key, &validation)
        .map_err(|e| map_jwt_error(e.kind()))?
        .claims;
    let leeway = i64::try_from(expected.leeway_secs).unwrap_or(i64::MAX);
    if claims.iat > now.saturating_add(leeway) {
        return Err(VerifyError::NotYetValid);
    }
    if claims.iss != expected.issuer {
        return Err(VerifyError::WrongIssuer);
    }
    if !claims.aud.contains(&expected.audience) {
        return Err(VerifyError::WrongAudience);
    }
    Ok(claims)
}

fn map_jwt_error(kind: &ErrorKind) -> VerifyError {
    match kind {
        // A key that cannot check the signature is as good as a bad signature.
        ErrorKind::InvalidSignature | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            VerifyError::BadSignature
        }
        ErrorKind::ExpiredSignature => VerifyError::Expired,
        ErrorKind::ImmatureSignature => VerifyError::NotYetValid,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::UnsupportedAlgorithm => VerifyError::UnsupportedAlgorithm,
        _ => VerifyError::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token_with_header(header: &str) -> String {
        format!("{}.e30.sig", URL_SAFE_NO_PAD.encode(header))
    }

    #[test]
    fn typ_accepts_both_forms_in_any_case() {
        assert!(is_access_token_typ("at+jwt"));
        assert!(is_access_token_typ("AT+JWT"));
        assert!(is_access_token_typ("application/at+jwt"));
        assert!(is_access_token_typ("Application/At+Jwt"));
        assert!(!is_access_token_typ("JWT"));
        assert!(!is_access_token_typ("application/jwt"));
        assert!(!is_access_token_typ("x-at+jwt"));
    }

    #[test]
    fn header_checks_name_the_first_problem() {
        let check = |h: &str| check_header(&token_with_header(h), &[SigningAlgorithm::RS256]);
        assert_eq!(
            check(r#"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#),
            Ok(("k".to_owned(), SigningAlgorithm::RS256))
        );
        // ES256 only when the resource server configured it.
        assert_eq!(
            check(r#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#),
            Err(VerifyError::UnsupportedAlgorithm)
        );
        let both = [SigningAlgorithm::RS256, SigningAlgorithm::ES256];
        assert_eq!(
            check_header(
                &token_with_header(r#"{"alg":"ES256","typ":"at+jwt","kid":"k"}"#),
                &both
            ),
            Ok(("k".to_owned(), SigningAlgorithm::ES256))
        );
        assert_eq!(
            check(r#"{"alg":"none","typ":"at+jwt","kid":"k"}"#),
            Err(VerifyError::UnsupportedAlgorithm)
        );
        assert_eq!(
            check(r#"{"alg":"RS256","typ":"JWT","kid":"k"}"#),
            Err(VerifyError::WrongType)
        );
        assert_eq!(
            check(r#"{"alg":"RS256","kid":"k"}"#),
            Err(VerifyError::WrongType)
        );
        assert_eq!(
            check(r#"{"alg":"RS256","typ":"at+jwt"}"#),
            Err(VerifyError::UnknownKey)
        );
        assert_eq!(
            check(r#"{"alg":"RS256","typ":"at+jwt","kid":"k","crit":["exp"]}"#),
            Err(VerifyError::Malformed)
        );
        assert_eq!(check("not json"), Err(VerifyError::Malformed));
    }

    #[test]
    fn tokens_without_three_parts_are_malformed() {
        assert_eq!(
            check_header("", &[SigningAlgorithm::RS256]),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            check_header("a.b", &[SigningAlgorithm::RS256]),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            check_header("a.b.c.d", &[SigningAlgorithm::RS256]),
            Err(VerifyError::Malformed)
        );
        assert_eq!(
            check_header("!!!.b.c", &[SigningAlgorithm::RS256]),
            Err(VerifyError::Malformed)
        );
    }
}
