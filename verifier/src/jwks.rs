//! Reading a JSON Web Key Set (RFC 7517 §5; RSA keys per RFC 7518 §6.3,
//! P-256 keys per §6.2) into RS256 and ES256 verification keys, and how
//! long it stays fresh according to `Cache-Control` (RFC 9111 §5.2.2).

use std::collections::HashMap;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;

/// Freshness when the response carries no `max-age`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Longest freshness believed: a very large `max-age` would otherwise keep a
/// withdrawn key trusted for ever (unknown `kid`s still trigger refetches).
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);

#[derive(Deserialize)]
struct KeySetDoc {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct PublicJwk {
    kty: String,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// A published key and the one algorithm it verifies.
#[derive(Clone)]
pub(crate) struct VerificationKey {
    pub alg: Algorithm,
    pub key: DecodingKey,
}

/// Parses a JWKS body into verification keys by `kid`: RSA keys for RS256,
/// P-256 keys for ES256. Other keys (other types or curves, `use` other
/// than `sig`, another `alg`, no `kid`) are skipped rather than failing the
/// whole set, so an issuer may publish other keys beside ours.
pub(crate) fn parse_key_set(body: &[u8]) -> Result<HashMap<String, VerificationKey>, String> {
    let doc: KeySetDoc = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let mut keys = HashMap::new();
    for value in doc.keys {
        let Ok(jwk) = serde_json::from_value::<PublicJwk>(value) else {
            log::debug!("skipping a JWK that is not an object with a kty");
            continue;
        };
        let for_signing = jwk.use_.as_deref().is_none_or(|u| u == "sig");
        let parsed = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("RSA", _) => jwk.n.as_deref().zip(jwk.e.as_deref()).map(|(n, e)| {
                (
                    Algorithm::RS256,
                    "RS256",
                    DecodingKey::from_rsa_components(n, e),
                )
            }),
            ("EC", Some("P-256")) => jwk.x.as_deref().zip(jwk.y.as_deref()).map(|(x, y)| {
                (
                    Algorithm::ES256,
                    "ES256",
                    DecodingKey::from_ec_components(x, y),
                )
            }),
            _ => None,
        };
        let (Some(kid), Some((alg, name, key)), true) = (jwk.kid, parsed, for_signing) else {
            continue;
        };
        if jwk.alg.as_deref().is_some_and(|a| a != name) {
            continue;
        }
        match key {
            Ok(key) => {
                keys.insert(kid, VerificationKey { alg, key });
            }
            Err(err) => log::warn!("skipping JWK {kid}: {err}"),
        }
    }
    Ok(keys)
}

/// How long a response with this `Cache-Control` value stays fresh:
/// `max-age`, zero for `no-store`/`no-cache`, [`DEFAULT_MAX_AGE`] when it
/// says nothing, never more than [`MAX_MAX_AGE`].
pub(crate) fn max_age(cache_control: Option<&str>) -> Duration {
    let Some(value) = cache_control else {
        return DEFAULT_MAX_AGE;
    };
    let mut age = DEFAULT_MAX_AGE;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Duration::ZERO;
        }
        if name.eq_ignore_ascii_case("max-age") {
            match arg.trim_matches('"').parse::<u64>() {
                Ok(secs) => age = Duration::from_secs(secs),
                // RFC 9111 §4.2.1: an invalid freshness lifetime means stale.
                Err(_) => return Duration::ZERO,
            }
        }
    }
    age.min(MAX_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_age_follows_cache_control() {
        assert_eq!(max_age(None), DEFAULT_MAX_AGE);
        assert_eq!(max_age(Some("public")), DEFAULT_MAX_AGE);
        assert_eq!(
            max_age(Some("public, max-age=600")),
            Duration::from_secs(600)
        );
        assert_eq!(max_age(Some("Max-Age=\"60\"")), Duration::from_secs(60));
        assert_eq!(max_age(Some("max-age=600, no-cache")), Duration::ZERO);
        assert_eq!(max_age(Some("no-store")), Duration::ZERO);
        assert_eq!(max_age(Some("max-age=soon")), Duration::ZERO);
        assert_eq!(max_age(Some("max-age=99999999999")), MAX_MAX_AGE);
    }

    #[test]
    fn only_rs256_and_es256_signing_keys_with_a_kid_are_kept() {
        let body = br#"{"keys":[
            {"kty":"RSA","kid":"good","use":"sig","alg":"RS256","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bare","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"enc","use":"enc","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"ps","alg":"PS256","n":"AQAB","e":"AQAB"},
            {"kty":"EC","kid":"ec","crv":"P-256","x":"P9jGM-YJIwDfHZVn4X5iEpWtvOHoHYUItjH-QCJjkgw","y":"wRs_mxeGQAgiwAkcyNCeVlvecKpMrxF59GQj-AAk9EI"},
            {"kty":"EC","kid":"ec-rs","alg":"RS256","crv":"P-256","x":"AA","y":"AA"},
            {"kty":"EC","kid":"p384","crv":"P-384","x":"AA","y":"AA"},
            {"kty":"RSA","n":"AQAB","e":"AQAB"},
            {"kty":"RSA","kid":"bad-b64","n":"***","e":"AQAB"},
            "not a key"
        ]}"#;
        let keys = parse_key_set(body).unwrap();
        let mut kids: Vec<_> = keys.keys().map(String::as_str).collect();
        kids.sort_unstable();
        assert_eq!(kids, ["bare", "ec", "good"]);
        assert_eq!(keys["ec"].alg, Algorithm::ES256);
        assert_eq!(keys["good"].alg, Algorithm::RS256);
    }

    #[test]
    fn a_body_without_keys_is_an_error() {
        assert!(parse_key_set(b"{}").is_err());
        assert!(parse_key_set(b"<html>").is_err());
    }
}
