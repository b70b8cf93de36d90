//! `private_key_jwt` client authentication (RFC 7523 §2.2 and §3, OpenID
//! Connect Core §9): a JWT the client signs with a key only it holds.
//! Checking one is pure; recording its `jti` against replays is the
//! caller's, in the database, so every instance sees it.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use serde::{Deserialize, Deserializer};

use super::key_set;
use crate::db::{Conn, QueryError, client_assertions};

/// The `client_assertion_type` of a JWT assertion (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The furthest ahead an assertion's `exp` may be: assertions are
/// single-use proofs, not credentials to keep.
pub const MAX_LIFETIME: i64 = 300;
/// Leeway for a client whose clock runs ahead of or behind ours.
pub const LEEWAY: i64 = 30;

/// What an assertion must be addressed to and when it is checked.
#[derive(Debug, Clone)]
pub struct Expected<'a> {
    pub client_id: &'a str,
    /// Any one of these in `aud` will do: the issuer, the token endpoint
    /// and the endpoint the assertion was presented at.
    pub audiences: &'a [String],
    pub now: i64,
}

/// A checked assertion: its `jti` must now be recorded until `expires_at`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    pub jti: String,
    pub expires_at: i64,
}

/// Why an assertion was refused. Logged, never shown to the client, which
/// only ever hears `invalid_client`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("the assertion is not a JWS with a supported algorithm")]
    Malformed,
    #[error("no registered key fits the assertion's kid and alg")]
    UnknownKey,
    #[error("the signature does not verify")]
    BadSignature,
    #[error("iss and sub must both be the client id")]
    WrongSubject,
    #[error("aud does not name this server")]
    WrongAudience,
    #[error("the assertion has expired")]
    Expired,
    #[error("exp is more than {MAX_LIFETIME} s ahead")]
    TooLong,
    #[error("the assertion is not valid yet")]
    NotYetValid,
    #[error("jti is missing or too long")]
    BadJti,
}

#[derive(Deserialize)]
struct Claims {
    iss: String,
    sub: String,
    #[serde(deserialize_with = "one_or_many")]
    aud: Vec<String>,
    exp: i64,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    jti: Option<String>,
}

fn one_or_many<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// The client an assertion claims to come from (`sub`), read without any
/// check, only to find that client's keys.
pub fn claimed_client(assertion: &str) -> Option<String> {
    #[derive(Deserialize)]
    struct Sub {
        sub: String,
    }
    let payload = assertion.split('.').nth(1)?;
    let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
    serde_json::from_slice::<Sub>(&json)
        .ok()
        .map(|s| s.sub)
        .filter(|s| !s.is_empty() && !s.contains('\0'))
}

/// Checks an assertion's signature against the client's keys, then its
/// claims. Times are checked against `expected.now`, the server's clock.
pub fn check(
    keys: &JwkSet,
    assertion: &str,
    expected: &Expected<'_>,
) -> Result<Checked, AssertionError> {
    let header = jsonwebtoken::decode_header(assertion).map_err(|_| AssertionError::Malformed)?;
    if !key_set::ALGORITHMS.contains(&header.alg) {
        return Err(AssertionError::Malformed);
    }
    let jwk = key_set::select(keys, header.kid.as_deref(), header.alg)
        .ok_or(AssertionError::UnknownKey)?;
    let key = DecodingKey::from_jwk(jwk).map_err(|_| AssertionError::UnknownKey)?;
    let mut validation = Validation::new(header.alg);
    // Times and audience are checked below against our own clock and list.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = jsonwebtoken::decode::<Claims>(assertion, &key, &validation)
        .map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::InvalidSignature => AssertionError::BadSignature,
            _ => AssertionError::Malformed,
        })?
        .claims;
    let now = expected.now;
    if claims.iss != expected.client_id || claims.sub != expected.client_id {
        return Err(AssertionError::WrongSubject);
    }
    if !claims.aud.iter().any(|a| expected.audiences.contains(a)) {
        return Err(AssertionError::WrongAudience);
    }
    if claims.exp <= now - LEEWAY {
        return Err(AssertionError::Expired);
    }
    if claims.exp > now + MAX_LIFETIME + LEEWAY {
        return Err(AssertionError::TooLong);
    }
    if claims.nbf.is_some_and(|t| t > now + LEEWAY) || claims.iat.is_some_and(|t| t > now + LEEWAY)
    {
        return Err(AssertionError::NotYetValid);
    }
    let jti = claims
        .jti
        .filter(|j| !j.is_empty() && j.len() <= 256)
        .ok_or(AssertionError::BadJti)?;
    Ok(Checked {
        jti,
        expires_at: claims.exp + LEEWAY,
    })
}

/// Proof that a client authenticated with an assertion: made only by
/// [`record`], once the assertion was checked and its `jti` was new.
#[derive(Clone, PartialEq, Eq)]
pub struct Proven {
    client_id: String,
}

impl Proven {
    /// The authenticated client.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

impl fmt::Debug for Proven {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Proven {{ {:?} }}", self.client_id)
    }
}

/// Records a checked assertion's `jti` until it expires; `None` when it was
/// already recorded: a replay, here or on another instance.
pub fn record(
    conn: &mut Conn,
    client_id: &str,
    checked: &Checked,
) -> Result<Option<Proven>, QueryError> {
    let fresh = client_assertions::insert_client_assertion(
        conn,
        client_id,
        &checked.jti,
        checked.expires_at,
    )?;
    Ok(fresh.then(|| Proven {
        client_id: client_id.to_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;
    use serde_json::json;

    use super::*;

    struct Client {
        signer: EncodingKey,
        keys: JwkSet,
    }

    fn rsa_client(kid: &str) -> Client {
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let keys = key_set::parse(&format!(
            r#"{{"keys":[{{"kty":"RSA","kid":"{kid}","n":"{n}","e":"AQAB"}}]}}"#
        ))
        .unwrap();
        Client {
            signer: EncodingKey::from_rsa_der(der.as_bytes()),
            keys,
        }
    }

    const NOW: i64 = 1_800_000_000;

    fn claims() -> serde_json::Value {
        json!({"iss": "c1", "sub": "c1", "aud": "https://issuer.test/token",
               "exp": NOW + 60, "iat": NOW, "jti": "j1"})
    }

    fn sign(
        client: &Client,
        alg: Algorithm,
        kid: Option<&str>,
        claims: &serde_json::Value,
    ) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        jsonwebtoken::encode(&header, claims, &client.signer).unwrap()
    }

    fn check_at(keys: &JwkSet, assertion: &str, now: i64) -> Result<Checked, AssertionError> {
        let audiences = vec![
            "https://issuer.test".to_owned(),
            "https://issuer.test/token".to_owned(),
        ];
        check(
            keys,
            assertion,
            &Expected {
                client_id: "c1",
                audiences: &audiences,
                now,
            },
        )
    }

    #[test]
    fn a_well_formed_assertion_passes_and_each_defect_is_named() {
        let client = rsa_client("k1");
        let ok = sign(&client, Algorithm::RS256, Some("k1"), &claims());
        assert_eq!(
            check_at(&client.keys, &ok, NOW),
            Ok(Checked {
                jti: "j1".into(),
                expires_at: NOW + 60 + LEEWAY
            })
        );
        let ps = sign(&client, Algorithm::PS256, Some("k1"), &claims());
        assert!(check_at(&client.keys, &ps, NOW).is_ok());

        let with = |k: &str, v: serde_json::Value| {
            let mut c = claims();
            c[k] = v;
            sign(&client, Algorithm::RS256, Some("k1"), &c)
        };
        let cases = [
            (with("sub", json!("c2")), AssertionError::WrongSubject),
            (with("iss", json!("c2")), AssertionError::WrongSubject),
            (
                with("aud", json!("https://elsewhere.test")),
                AssertionError::WrongAudience,
            ),
            (with("exp", json!(NOW - 60)), AssertionError::Expired),
            (with("exp", json!(NOW + 3600)), AssertionError::TooLong),
            (with("nbf", json!(NOW + 600)), AssertionError::NotYetValid),
            (with("jti", json!("")), AssertionError::BadJti),
            (
                sign(&client, Algorithm::RS256, Some("k2"), &claims()),
                AssertionError::UnknownKey,
            ),
        ];
        for (assertion, expected) in cases {
            assert_eq!(check_at(&client.keys, &assertion, NOW), Err(expected));
        }
        assert_eq!(
            check_at(&client.keys, &ok, NOW + 120),
            Err(AssertionError::Expired)
        );
    }

    #[test]
    fn another_key_or_a_symmetric_algorithm_does_not_verify() {
        let client = rsa_client("k1");
        let impostor = rsa_client("k1");
        let forged = sign(&impostor, Algorithm::RS256, Some("k1"), &claims());
        assert_eq!(
            check_at(&client.keys, &forged, NOW),
            Err(AssertionError::BadSignature)
        );
        let hmac = Client {
            signer: EncodingKey::from_secret(b"shared"),
            keys: client.keys.clone(),
        };
        let hs = sign(&hmac, Algorithm::HS256, Some("k1"), &claims());
        assert_eq!(
            check_at(&client.keys, &hs, NOW),
            Err(AssertionError::Malformed)
        );
        assert_eq!(
            check_at(&client.keys, "a.b", NOW),
            Err(AssertionError::Malformed)
        );
    }

    #[test]
    fn the_claimed_client_is_read_from_sub() {
        let client = rsa_client("k1");
        let a = sign(&client, Algorithm::RS256, None, &claims());
        assert_eq!(claimed_client(&a).as_deref(), Some("c1"));
        assert_eq!(claimed_client("not a jwt"), None);
    }
}
