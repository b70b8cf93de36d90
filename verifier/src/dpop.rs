//! DPoP-bound tokens (RFC 9449 §7): the proof that comes with each request,
//! checked against that request, the token and the key the token is bound
//! to, and a bounded memory of the proofs already seen.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::VerifyError;

/// Algorithms a proof may be signed with: asymmetric only (§4.2), the ones
/// Tessera accepts at its token endpoint.
pub const PROOF_ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];
/// Longest proof accepted.
const MAX_LEN: usize = 8 * 1024;
/// JWK members only private or symmetric keys have.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The request a proof came with, as the client sent it.
#[derive(Debug, Clone, Copy)]
pub struct DpopRequest<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The URL the client called (query and fragment are ignored). Behind a
    /// proxy this is the public URL, not the one the proxy forwarded to.
    pub url: &'a str,
}

/// The `algs` value of a DPoP challenge (§7.1).
pub fn algorithm_names() -> String {
    PROOF_ALGORITHMS
        .iter()
        .map(|a| format!("{a:?}"))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Deserialize)]
struct ProofClaims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
}

/// A proof that passed [`check`]: its key's thumbprint, `jti` and `iat`.
#[derive(Debug)]
pub(crate) struct CheckedProof {
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
}

/// How old a proof may be, and how far ahead a client's clock may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub max_age: i64,
    pub future_skew: i64,
}

/// Checks `proof` for `request`, carrying `token`'s hash, at `now`.
pub(crate) fn check(
    proof: &str,
    request: &DpopRequest,
    token: &str,
    window: Window,
    now: i64,
) -> Result<CheckedProof, VerifyError> {
    let invalid = VerifyError::InvalidProof;
    if proof.len() > MAX_LEN {
        return Err(invalid);
    }
    let header = jsonwebtoken::decode_header(proof).map_err(|_| invalid)?;
    let typ_ok = header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case("dpop+jwt"));
    if !typ_ok || !PROOF_ALGORITHMS.contains(&header.alg) {
        return Err(invalid);
    }
    let jwk = header.jwk.ok_or(invalid)?;
    only_public_members(proof)?;
    let key = proof_key(&jwk, header.alg)?;
    let mut v = Validation::new(header.alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let claims = jsonwebtoken::decode::<ProofClaims>(proof, &key, &v)
        .map_err(|_| invalid)?
        .claims;
    let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
    let fresh = claims.iat <= now + window.future_skew && claims.iat >= now - window.max_age;
    if claims.jti.is_empty()
        || claims.jti.len() > 256
        || claims.htm != request.method
        || !same_target(&claims.htu, request.url)
        || !fresh
        || claims.ath.as_deref() != Some(ath.as_str())
    {
        return Err(invalid);
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| invalid)?;
    Ok(CheckedProof {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
    })
}

fn only_public_members(proof: &str) -> Result<(), VerifyError> {
    let header: Value = proof
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(VerifyError::InvalidProof)?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(VerifyError::InvalidProof)?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(VerifyError::InvalidProof);
    }
    Ok(())
}

/// The key, only for the algorithm its type signs with.
fn proof_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, VerifyError> {
    let fits = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            alg == Algorithm::ES256 && ec.curve == EllipticCurve::P256
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            alg == Algorithm::EdDSA && okp.curve == EllipticCurve::Ed25519
        }
        AlgorithmParameters::RSA(rsa) => {
            let n = URL_SAFE_NO_PAD.decode(&rsa.n).unwrap_or_default();
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            matches!(alg, Algorithm::RS256 | Algorithm::PS256) && bits >= 2048
        }
        _ => false,
    };
    if !fits {
        return Err(VerifyError::InvalidProof);
    }
    DecodingKey::from_jwk(jwk).map_err(|_| VerifyError::InvalidProof)
}

/// Same scheme, host, port and path after RFC 3986 normalisation, ignoring
/// query and fragment (§4.3 step 9).
fn same_target(htu: &str, request: &str) -> bool {
    let strip = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    matches!((strip(htu), strip(request)), (Some(a), Some(b)) if a == b)
}

/// The proofs seen in the last `max_age` seconds, per key and `jti`: at
/// most `capacity` of them, and at most `per_key` for any one key, so one
/// token holder cannot crowd out everyone else. When there is no room a new
/// proof is refused (as a transient failure) rather than an old entry
/// forgotten, which would let that proof be replayed.
pub(crate) struct ReplayCache {
    seen: Mutex<Seen>,
    capacity: usize,
    per_key: usize,
}

#[derive(Default)]
struct Seen {
    /// `jkt.jti` -> (jkt, expiry).
    entries: HashMap<String, (String, i64)>,
    /// Live entries per key.
    counts: HashMap<String, usize>,
}

impl Seen {
    fn purge(&mut self, now: i64) {
        let counts = &mut self.counts;
        self.entries.retain(|_, (jkt, expiry)| {
            let live = *expiry >= now;
            if !live && let Some(n) = counts.get_mut(jkt.as_str()) {
                *n = n.saturating_sub(1);
            }
            live
        });
        counts.retain(|_, n| *n > 0);
    }
}

impl ReplayCache {
    pub fn new(capacity: usize, per_key: usize) -> Self {
        Self {
            seen: Mutex::new(Seen::default()),
            capacity,
            per_key,
        }
    }

    /// Remembers `proof` until `until`; refuses one already seen.
    pub fn remember(&self, proof: &CheckedProof, until: i64, now: i64) -> Result<(), VerifyError> {
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        let key = format!("{}.{}", proof.jkt, proof.jti);
        if seen
            .entries
            .get(&key)
            .is_some_and(|(_, expiry)| *expiry >= now)
        {
            return Err(VerifyError::ProofReplayed);
        }
        let count = |seen: &Seen| seen.counts.get(&proof.jkt).copied().unwrap_or(0);
        if seen.entries.len() >= self.capacity || count(&seen) >= self.per_key {
            seen.purge(now);
            if seen.entries.len() >= self.capacity || count(&seen) >= self.per_key {
                return Err(VerifyError::ReplayCacheFull);
            }
        }
        seen.entries.insert(key, (proof.jkt.clone(), until));
        *seen.counts.entry(proof.jkt.clone()).or_insert(0) += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proof(jti: &str) -> CheckedProof {
        proof_by("k", jti)
    }

    fn proof_by(jkt: &str, jti: &str) -> CheckedProof {
        CheckedProof {
            jkt: jkt.into(),
            jti: jti.into(),
            iat: 0,
        }
    }

    #[test]
    fn one_key_cannot_take_more_than_its_share() {
        let cache = ReplayCache::new(10, 2);
        cache.remember(&proof_by("a", "1"), 100, 0).unwrap();
        cache.remember(&proof_by("a", "2"), 100, 0).unwrap();
        assert_eq!(
            cache.remember(&proof_by("a", "3"), 100, 0),
            Err(VerifyError::ReplayCacheFull)
        );
        cache.remember(&proof_by("b", "1"), 100, 0).unwrap();
        // Its share comes back as its proofs expire.
        cache.remember(&proof_by("a", "3"), 300, 101).unwrap();
    }

    #[test]
    fn a_proof_is_remembered_until_it_expires_and_the_cache_stays_bounded() {
        let cache = ReplayCache::new(2, 10);
        cache.remember(&proof("a"), 100, 0).unwrap();
        assert_eq!(
            cache.remember(&proof("a"), 100, 50),
            Err(VerifyError::ProofReplayed)
        );
        cache.remember(&proof("b"), 100, 50).unwrap();
        // Full of live entries: refused, nothing forgotten.
        assert_eq!(
            cache.remember(&proof("c"), 100, 60),
            Err(VerifyError::ReplayCacheFull)
        );
        assert_eq!(
            cache.remember(&proof("a"), 100, 60),
            Err(VerifyError::ProofReplayed)
        );
        // Once they expire there is room again.
        cache.remember(&proof("c"), 300, 101).unwrap();
    }

    #[test]
    fn htu_ignores_query_fragment_and_case_of_scheme_and_host() {
        assert!(same_target(
            "https://API.example/p?x#y",
            "https://api.example/p"
        ));
        assert!(same_target(
            "https://api.example:443/p",
            "https://api.example/p"
        ));
        assert!(!same_target(
            "https://api.example/p/",
            "https://api.example/p"
        ));
        assert!(!same_target(
            "http://api.example/p",
            "https://api.example/p"
        ));
        assert!(!same_target("/p", "https://api.example/p"));
    }
}
