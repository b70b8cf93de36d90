//! The public keys a `private_key_jwt` client registers (RFC 7517 JWK Set):
//! only public RSA, P-256 and Ed25519 keys, each usable with the algorithms
//! listed in [`ALGORITHMS`].

use jsonwebtoken::Algorithm;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, KeyOperations, PublicKeyUse,
};
use serde_json::Value;

/// The algorithms a client assertion may be signed with.
pub const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::EdDSA,
];

/// Their names, as discovery lists them.
pub const ALGORITHM_NAMES: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];

/// JWK members that only private (or symmetric) keys have (RFC 7518 §6).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The most keys one client may register.
const MAX_KEYS: usize = 20;

/// Why a JWK Set was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeySetError {
    #[error("the JWK Set is not valid JSON with a \"keys\" array")]
    Malformed,
    #[error("the JWK Set has no keys")]
    Empty,
    #[error("the JWK Set has more than {MAX_KEYS} keys")]
    TooMany,
    #[error("key {0} holds private key material; register only public keys")]
    Private(usize),
    #[error("key {0} is not an RSA, P-256 or Ed25519 public key")]
    Unsupported(usize),
    #[error("key {0} names an algorithm other than RS256, PS256, ES256 or EdDSA")]
    Algorithm(usize),
    #[error("key {0} is not for verifying signatures (its use or key_ops say otherwise)")]
    NotForSigning(usize),
    #[error("two keys have the kid {0:?}")]
    DuplicateKid(String),
}

/// Parses and checks a JWK Set as registered or fetched.
pub fn parse(json: &str) -> Result<JwkSet, KeySetError> {
    let raw: Value = serde_json::from_str(json).map_err(|_| KeySetError::Malformed)?;
    let Some(raw_keys) = raw.get("keys").and_then(Value::as_array) else {
        return Err(KeySetError::Malformed);
    };
    for (i, key) in raw_keys.iter().enumerate() {
        let Some(members) = key.as_object() else {
            return Err(KeySetError::Malformed);
        };
        if PRIVATE_MEMBERS.iter().any(|m| members.contains_key(*m)) {
            return Err(KeySetError::Private(i));
        }
    }
    let set: JwkSet = serde_json::from_value(raw).map_err(|_| KeySetError::Malformed)?;
    if set.keys.is_empty() {
        return Err(KeySetError::Empty);
    }
    if set.keys.len() > MAX_KEYS {
        return Err(KeySetError::TooMany);
    }
    for (i, key) in set.keys.iter().enumerate() {
        if algorithms_for(key).is_empty() {
            return Err(KeySetError::Unsupported(i));
        }
        // RFC 7517 §4.2, §4.3: a key meant for encryption does not sign.
        let signing_use = key
            .common
            .public_key_use
            .as_ref()
            .is_none_or(|u| *u == PublicKeyUse::Signature);
        let verifying_ops = key
            .common
            .key_operations
            .as_ref()
            .is_none_or(|ops| ops.contains(&KeyOperations::Verify));
        if !signing_use || !verifying_ops {
            return Err(KeySetError::NotForSigning(i));
        }
        if let Some(alg) = key.common.key_algorithm
            && !named(alg).is_some_and(|a| algorithms_for(key).contains(&a))
        {
            return Err(KeySetError::Algorithm(i));
        }
        if let Some(kid) = &key.common.key_id
            && set.keys[..i]
                .iter()
                .any(|k| k.common.key_id.as_ref() == Some(kid))
        {
            return Err(KeySetError::DuplicateKid(kid.clone()));
        }
    }
    Ok(set)
}

/// The signing algorithm a JWK's `alg` names, if it is one of ours.
fn named(alg: KeyAlgorithm) -> Option<Algorithm> {
    match alg {
        KeyAlgorithm::RS256 => Some(Algorithm::RS256),
        KeyAlgorithm::PS256 => Some(Algorithm::PS256),
        KeyAlgorithm::ES256 => Some(Algorithm::ES256),
        KeyAlgorithm::EdDSA => Some(Algorithm::EdDSA),
        _ => None,
    }
}

/// The algorithms a key can verify (empty for keys this server refuses).
pub fn algorithms_for(key: &Jwk) -> &'static [Algorithm] {
    match &key.algorithm {
        AlgorithmParameters::RSA(_) => &[Algorithm::RS256, Algorithm::PS256],
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            &[Algorithm::ES256]
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        _ => &[],
    }
}

/// The key to check a signature made with `alg`: the one with `kid`, or
/// without a `kid` the only key that fits `alg`.
pub fn select<'a>(set: &'a JwkSet, kid: Option<&str>, alg: Algorithm) -> Option<&'a Jwk> {
    let fits = |k: &&Jwk| {
        algorithms_for(k).contains(&alg)
            && k.common.key_algorithm.is_none_or(|a| named(a) == Some(alg))
    };
    match kid {
        Some(kid) => set.find(kid).filter(fits),
        None => {
            let mut candidates = set.keys.iter().filter(fits);
            match (candidates.next(), candidates.next()) {
                (Some(only), None) => Some(only),
                _ => None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RSA: &str = r#"{"kty":"RSA","kid":"r","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}"#;
    const EC: &str = r#"{"kty":"EC","kid":"e","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}"#;
    const OKP: &str = r#"{"kty":"OKP","kid":"o","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}"#;

    fn set(keys: &[&str]) -> String {
        format!(r#"{{"keys":[{}]}}"#, keys.join(","))
    }

    #[test]
    fn public_rsa_p256_and_ed25519_keys_are_accepted() {
        let parsed = parse(&set(&[RSA, EC, OKP])).unwrap();
        assert_eq!(parsed.keys.len(), 3);
        assert_eq!(
            select(&parsed, Some("e"), Algorithm::ES256)
                .unwrap()
                .common
                .key_id,
            Some("e".into())
        );
        assert!(select(&parsed, Some("e"), Algorithm::RS256).is_none());
        // Without a kid, the one key that fits.
        assert!(select(&parsed, None, Algorithm::EdDSA).is_some());
    }

    #[test]
    fn private_symmetric_and_unsupported_keys_are_refused() {
        let private = RSA.replace(r#""e":"AQAB""#, r#""e":"AQAB","d":"secret""#);
        assert_eq!(parse(&set(&[EC, &private])), Err(KeySetError::Private(1)));
        let oct = r#"{"kty":"oct","k":"c2VjcmV0"}"#;
        assert_eq!(parse(&set(&[oct])), Err(KeySetError::Private(0)));
        let p384 = EC.replace("P-256", "P-384");
        assert_eq!(parse(&set(&[&p384])), Err(KeySetError::Unsupported(0)));
        let hs = RSA.replace(r#""kty":"RSA""#, r#""kty":"RSA","alg":"HS256""#);
        assert_eq!(parse(&set(&[&hs])), Err(KeySetError::Algorithm(0)));
        assert_eq!(
            parse(&set(&[RSA, RSA])),
            Err(KeySetError::DuplicateKid("r".into()))
        );
        let enc = EC.replace(r#""kty":"EC""#, r#""kty":"EC","use":"enc""#);
        assert_eq!(parse(&set(&[&enc])), Err(KeySetError::NotForSigning(0)));
        let wrap = EC.replace(r#""kty":"EC""#, r#""kty":"EC","key_ops":["wrapKey"]"#);
        assert_eq!(parse(&set(&[&wrap])), Err(KeySetError::NotForSigning(0)));
        let sig = EC.replace(
            r#""kty":"EC""#,
            r#""kty":"EC","use":"sig","key_ops":["verify"]"#,
        );
        assert!(parse(&set(&[&sig])).is_ok());
        assert_eq!(parse(&set(&[])), Err(KeySetError::Empty));
        assert_eq!(parse("[]"), Err(KeySetError::Malformed));
        assert_eq!(parse("{\"keys\":[1]}"), Err(KeySetError::Malformed));
    }
}
