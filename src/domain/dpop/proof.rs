//! Checking a DPoP proof (RFC 9449 §4.3): a JWT the client signs with the
//! private half of the key its tokens are bound to, for one HTTP request.
//! Pure: the caller records the `jti` to refuse replays (§11.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

/// The JOSE `typ` of a proof.
pub const PROOF_TYP: &str = "dpop+jwt";
/// Algorithms a proof may be signed with: asymmetric only (§4.2).
pub const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::ES256,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];
/// How old a proof may be (its `iat`), and so how long its `jti` is kept.
pub const MAX_AGE: i64 = 60;
/// How far in the future a client's clock may put `iat`.
pub const FUTURE_SKEW: i64 = 5;
/// Longest proof accepted; a proof carries one public key.
const MAX_LEN: usize = 8 * 1024;
/// Smallest RSA modulus accepted in a proof key, in bytes (2048 bits).
const MIN_RSA_BYTES: usize = 256;

/// JWK members that only private or symmetric keys have.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The request a proof must be for.
#[derive(Debug, Clone, Copy)]
pub struct ProofContext<'a> {
    /// The HTTP method, as sent.
    pub method: &'a str,
    /// The request's URL as the client sees it (the issuer's scheme and
    /// host): compared without query and fragment.
    pub url: &'a str,
    /// The access token presented with the proof, whose hash `ath` must be.
    pub access_token: Option<&'a str>,
}

/// A valid proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// The RFC 7638 thumbprint of the proof key: what tokens are bound to.
    pub jkt: String,
    pub jti: String,
    pub iat: i64,
    /// The server-provided nonce it carries, if any (§8).
    pub nonce: Option<String>,
}

impl Proof {
    /// Until when the `jti` must be remembered.
    pub fn replay_window_end(&self) -> i64 {
        self.iat + MAX_AGE + FUTURE_SKEW
    }
}

/// Why a proof was refused; the reason is for logs, the client learns only
/// `invalid_dpop_proof`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DPoP proof: {0}")]
pub struct InvalidProof(pub &'static str);

#[derive(Deserialize)]
struct Claims {
    jti: String,
    htm: String,
    htu: String,
    iat: i64,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// `ath`: base64url SHA-256 of the access token (§4.2).
pub fn token_hash(access_token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(access_token.as_bytes()))
}

/// Checks everything about a proof that needs no storage: its header, its
/// signature by the key it carries, and that it is for this request now.
pub fn check(proof: &str, ctx: &ProofContext, now: i64) -> Result<Proof, InvalidProof> {
    if proof.len() > MAX_LEN {
        return Err(InvalidProof("too long"));
    }
    let header = jsonwebtoken::decode_header(proof).map_err(|_| InvalidProof("malformed"))?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP))
    {
        return Err(InvalidProof("typ is not dpop+jwt"));
    }
    if !ALGORITHMS.contains(&header.alg) {
        return Err(InvalidProof("algorithm not allowed"));
    }
    let jwk = header.jwk.ok_or(InvalidProof("no jwk in the header"))?;
    refuse_private_members(proof)?;
    let key = proof_key(&jwk, header.alg)?;
    let mut v = Validation::new(header.alg);
    v.required_spec_claims.clear();
    v.validate_exp = false;
    v.validate_aud = false;
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &v)
        .map_err(|_| InvalidProof("signature or claims invalid"))?
        .claims;
    if claims.jti.is_empty() || claims.jti.len() > 256 {
        return Err(InvalidProof("jti missing or too long"));
    }
    if claims.htm != ctx.method {
        return Err(InvalidProof("htm does not match the request"));
    }
    if !same_target(&claims.htu, ctx.url) {
        return Err(InvalidProof("htu does not match the request"));
    }
    if claims.iat > now + FUTURE_SKEW || claims.iat < now - MAX_AGE {
        return Err(InvalidProof("iat outside the accepted window"));
    }
    if let Some(token) = ctx.access_token {
        let expected = token_hash(token);
        // The hash of a token the client holds: nothing secret to time.
        if claims.ath.as_deref() != Some(expected.as_str()) {
            return Err(InvalidProof("ath does not match the access token"));
        }
    }
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| InvalidProof("key has no thumbprint"))?;
    Ok(Proof {
        jkt,
        jti: claims.jti,
        iat: claims.iat,
        nonce: claims.nonce,
    })
}

/// The header's `jwk` must be public: a client that sends its private key
/// has lost it (§4.3 step 7).
fn refuse_private_members(proof: &str) -> Result<(), InvalidProof> {
    let encoded = proof.split('.').next().unwrap_or("");
    let header: Value = URL_SAFE_NO_PAD
        .decode(encoded)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or(InvalidProof("malformed"))?;
    let jwk = header
        .get("jwk")
        .and_then(Value::as_object)
        .ok_or(InvalidProof("no jwk in the header"))?;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(InvalidProof("jwk holds private key material"));
    }
    Ok(())
}

/// The verification key, only for the algorithm its type signs with.
fn proof_key(jwk: &Jwk, alg: Algorithm) -> Result<DecodingKey, InvalidProof> {
    use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve};
    let fits = match &jwk.algorithm {
        AlgorithmParameters::EllipticCurve(ec) => {
            alg == Algorithm::ES256 && ec.curve == EllipticCurve::P256
        }
        AlgorithmParameters::OctetKeyPair(okp) => {
            alg == Algorithm::EdDSA && okp.curve == EllipticCurve::Ed25519
        }
        AlgorithmParameters::RSA(rsa) => {
            let n = URL_SAFE_NO_PAD.decode(&rsa.n).unwrap_or_default();
            let bytes = n.iter().skip_while(|b| **b == 0).count();
            matches!(alg, Algorithm::RS256 | Algorithm::PS256) && bytes >= MIN_RSA_BYTES
        }
        _ => false,
    };
    if !fits {
        return Err(InvalidProof("key type does not fit the algorithm"));
    }
    DecodingKey::from_jwk(jwk).map_err(|_| InvalidProof("unusable jwk"))
}

/// `htu` names the request's target: same scheme, host, port and path,
/// ignoring query and fragment, after RFC 3986 normalisation (§4.3 step 9).
fn same_target(htu: &str, request: &str) -> bool {
    let strip = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (strip(htu), strip(request)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    const URL: &str = "https://id.example.com/token";
    const NOW: i64 = 1_800_000_000;

    /// A client's P-256 proof key.
    pub(crate) struct ProofKey {
        signer: EncodingKey,
        pub(crate) jwk: Value,
    }

    impl ProofKey {
        pub(crate) fn new() -> Self {
            let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
            let pair = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref()).unwrap();
            let point = pair.public_key().as_ref();
            ProofKey {
                signer: EncodingKey::from_ec_der(pkcs8.as_ref()),
                jwk: json!({"kty": "EC", "crv": "P-256",
                    "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                    "y": URL_SAFE_NO_PAD.encode(&point[33..65])}),
            }
        }

        /// A proof with `claims`, its header's `jwk` being `jwk`.
        pub(crate) fn sign_with(&self, typ: &str, jwk: &Value, claims: &Value) -> String {
            let mut header = Header::new(Algorithm::ES256);
            header.typ = Some(typ.into());
            header.jwk = Some(serde_json::from_value(jwk.clone()).unwrap());
            let token = jsonwebtoken::encode(&header, claims, &self.signer).unwrap();
            // jsonwebtoken's Jwk drops unknown members: put the header back
            // exactly as given, re-signed.
            if jwk.as_object().is_some_and(|o| o.contains_key("d")) {
                let mut h: Value = serde_json::from_slice(
                    &URL_SAFE_NO_PAD
                        .decode(token.split('.').next().unwrap())
                        .unwrap(),
                )
                .unwrap();
                h["jwk"] = jwk.clone();
                let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&h).unwrap());
                let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
                let input = format!("{head}.{body}");
                let sig =
                    jsonwebtoken::crypto::sign(input.as_bytes(), &self.signer, Algorithm::ES256)
                        .unwrap();
                return format!("{input}.{sig}");
            }
            token
        }

        pub(crate) fn sign(&self, claims: &Value) -> String {
            self.sign_with(PROOF_TYP, &self.jwk, claims)
        }

        pub(crate) fn thumbprint(&self) -> String {
            let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
        }
    }

    fn claims() -> Value {
        json!({"jti": "j1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    fn ctx() -> ProofContext<'static> {
        ProofContext {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    #[test]
    fn a_proof_for_this_request_gives_the_key_thumbprint() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        let proof = check(&key.sign(&claims()), &ctx(), NOW).unwrap();
        assert_eq!(proof.jkt, key.thumbprint());
        assert_eq!(proof.jti, "j1");
        assert_eq!(proof.nonce, None);
    }

    #[test]
    fn htu_is_compared_normalised_and_without_query_or_fragment() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        for htu in [
            "https://id.example.com/token?x=1",
            "https://ID.example.com:443/token#f",
            "HTTPS://id.example.com/token",
        ] {
            let mut c = claims();
            c["htu"] = htu.into();
            assert!(check(&key.sign(&c), &ctx(), NOW).is_ok(), "{htu}");
        }
        for htu in [
            "https://id.example.com/token/",
            "http://id.example.com/token",
            "https://id.example.com:8443/token",
            "https://other.example.com/token",
            "/token",
        ] {
            let mut c = claims();
            c["htu"] = htu.into();
            assert!(check(&key.sign(&c), &ctx(), NOW).is_err(), "{htu}");
        }
    }

    #[test]
    fn wrong_method_time_typ_or_claims_are_refused() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        let refused = |c: Value| check(&key.sign(&c), &ctx(), NOW).unwrap_err();
        let mut c = claims();
        c["htm"] = "GET".into();
        assert_eq!(refused(c).0, "htm does not match the request");
        let mut c = claims();
        c["iat"] = (NOW - MAX_AGE - 1).into();
        assert_eq!(refused(c).0, "iat outside the accepted window");
        let mut c = claims();
        c["iat"] = (NOW + FUTURE_SKEW + 1).into();
        assert_eq!(refused(c).0, "iat outside the accepted window");
        let mut c = claims();
        c["jti"] = "".into();
        assert!(check(&key.sign(&c), &ctx(), NOW).is_err());
        let mut c = claims();
        c.as_object_mut().unwrap().remove("jti");
        assert!(check(&key.sign(&c), &ctx(), NOW).is_err());
        let jwt = key.sign_with("JWT", &key.jwk, &claims());
        assert_eq!(
            check(&jwt, &ctx(), NOW).unwrap_err().0,
            "typ is not dpop+jwt"
        );
    }

    #[test]
    fn a_private_key_in_the_header_or_a_foreign_signature_is_refused() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        let mut private = key.jwk.clone();
        private["d"] = "AAAA".into();
        let leaked = key.sign_with(PROOF_TYP, &private, &claims());
        assert_eq!(
            check(&leaked, &ctx(), NOW).unwrap_err().0,
            "jwk holds private key material"
        );
        // Signed by one key, naming another.
        let other = ProofKey::new();
        let forged = key.sign_with(PROOF_TYP, &other.jwk, &claims());
        assert!(check(&forged, &ctx(), NOW).is_err());
    }

    #[test]
    fn ath_must_be_the_hash_of_the_presented_token() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        let with = |ath: Option<&str>| {
            let mut c = claims();
            if let Some(a) = ath {
                c["ath"] = a.into();
            }
            let ctx = ProofContext {
                access_token: Some("the-token"),
                ..ctx()
            };
            check(&key.sign(&c), &ctx, NOW)
        };
        assert!(with(Some(&token_hash("the-token"))).is_ok());
        assert!(with(Some(&token_hash("another"))).is_err());
        assert!(with(None).is_err());
    }
}
