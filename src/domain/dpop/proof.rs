//! Checking a DPoP proof (RFC 9449 §4.3): a JWT the client signs with the
//! private half of the key its tokens are bound to, for one HTTP request.
//! Pure: the caller records the `jti` to refuse replays (§11.1).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::str::FromStr;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
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

/// The JOSE header, read once: the key stays a JSON object so that private
/// members can be seen (a typed JWK would drop them).
#[derive(Deserialize)]
struct JoseHeader {
    #[serde(default)]
    typ: Option<String>,
    alg: String,
    #[serde(default)]
    jwk: Option<Map<String, Value>>,
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
    let (signed, signature) = proof.rsplit_once('.').ok_or(MALFORMED)?;
    let (header, payload) = signed.split_once('.').ok_or(MALFORMED)?;
    let header: JoseHeader = decode_json(header)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| t.eq_ignore_ascii_case(PROOF_TYP))
    {
        return Err(InvalidProof("typ is not dpop+jwt"));
    }
    let alg = Algorithm::from_str(&header.alg)
        .ok()
        .filter(|a| ALGORITHMS.contains(a))
        .ok_or(InvalidProof("algorithm not allowed"))?;
    let jwk = header.jwk.ok_or(InvalidProof("no jwk in the header"))?;
    // A client that sends its private key has lost it (§4.3 step 7).
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(InvalidProof("jwk holds private key material"));
    }
    let key = CarriedKey::read(&jwk, alg)?;
    let verified = jsonwebtoken::crypto::verify(signature, signed.as_bytes(), &key.decoding, alg)
        .unwrap_or(false);
    if !verified {
        return Err(InvalidProof("signature or claims invalid"));
    }
    let claims: Claims =
        decode_json(payload).map_err(|_| InvalidProof("signature or claims invalid"))?;
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
    Ok(Proof {
        jkt: key.thumbprint,
        jti: claims.jti,
        iat: claims.iat,
        nonce: claims.nonce,
    })
}

const MALFORMED: InvalidProof = InvalidProof("malformed");

/// A base64url JSON part of the proof.
fn decode_json<T: serde::de::DeserializeOwned>(part: &str) -> Result<T, InvalidProof> {
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| MALFORMED)?;
    serde_json::from_slice(&bytes).map_err(|_| MALFORMED)
}

/// The public key a proof carries: how to verify with it, and its RFC 7638
/// thumbprint, what tokens are bound to.
struct CarriedKey {
    decoding: DecodingKey,
    thumbprint: String,
}

impl CarriedKey {
    /// Only a key of the type `alg` signs with, holding what that type needs.
    fn read(jwk: &Map<String, Value>, alg: Algorithm) -> Result<Self, InvalidProof> {
        let member = |name: &str| jwk.get(name).and_then(Value::as_str);
        let unfit = InvalidProof("key type does not fit the algorithm");
        let unusable = |_| InvalidProof("unusable jwk");
        // The thumbprint's members, in lexicographic order (RFC 7638 §3.2;
        // OKP: RFC 8037 §2).
        let (decoding, required) = match (member("kty"), alg) {
            (Some("EC"), Algorithm::ES256) if member("crv") == Some("P-256") => {
                let (x, y) = member("x").zip(member("y")).ok_or(unfit)?;
                exactly_32_bytes(x)?;
                exactly_32_bytes(y)?;
                let key = DecodingKey::from_ec_components(x, y).map_err(unusable)?;
                (
                    key,
                    [("crv", "P-256"), ("kty", "EC"), ("x", x), ("y", y)].to_vec(),
                )
            }
            (Some("OKP"), Algorithm::EdDSA) if member("crv") == Some("Ed25519") => {
                let x = member("x").ok_or(unfit)?;
                exactly_32_bytes(x)?;
                let key = DecodingKey::from_ed_components(x).map_err(unusable)?;
                (key, [("crv", "Ed25519"), ("kty", "OKP"), ("x", x)].to_vec())
            }
            (Some("RSA"), Algorithm::RS256 | Algorithm::PS256) => {
                let (n, e) = member("n").zip(member("e")).ok_or(unfit)?;
                let modulus = URL_SAFE_NO_PAD.decode(n).map_err(|_| unfit)?;
                if modulus.iter().skip_while(|b| **b == 0).count() < MIN_RSA_BYTES {
                    return Err(unfit);
                }
                let key = DecodingKey::from_rsa_components(n, e).map_err(unusable)?;
                (key, [("e", e), ("kty", "RSA"), ("n", n)].to_vec())
            }
            _ => return Err(unfit),
        };
        Ok(CarriedKey {
            decoding,
            thumbprint: thumbprint(&required),
        })
    }
}

/// A P-256 coordinate or an Ed25519 key is exactly 32 bytes (RFC 7518
/// §6.2.1.2, RFC 8037 §2): with a padded value one key would have several
/// thumbprints.
fn exactly_32_bytes(member: &str) -> Result<(), InvalidProof> {
    match URL_SAFE_NO_PAD.decode(member) {
        Ok(bytes) if bytes.len() == 32 => Ok(()),
        _ => Err(InvalidProof("unusable jwk")),
    }
}

/// RFC 7638: SHA-256 of the required members as JSON with no whitespace,
/// in the order given.
fn thumbprint(members: &[(&str, &str)]) -> String {
    let body = members
        .iter()
        .map(|(k, v)| format!("{}:{}", Value::from(*k), Value::from(*v)))
        .collect::<Vec<_>>()
        .join(",");
    URL_SAFE_NO_PAD.encode(Sha256::digest(format!("{{{body}}}").as_bytes()))
}

/// `htu` names the request's target: same scheme, host, port and path,
/// ignoring query and fragment, after RFC 3986 normalisation (§4.3 step 9).
fn same_target(htu: &str, request: &str) -> bool {
    // What clients send nearly always: no parsing needed.
    if htu == request {
        return true;
    }
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
    use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
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

    /// A proof signed by hand: `header` as given, `sign` over the input.
    fn hand_signed(header: &Value, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
        let b64 = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
        let input = format!("{}.{}", b64(header), b64(claims));
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sign(input.as_bytes())))
    }

    #[test]
    fn eddsa_and_rsa_keys_give_their_rfc_7638_thumbprints() {
        use aws_lc_rs::rsa::KeySize;
        use aws_lc_rs::signature::{Ed25519KeyPair, RSA_PKCS1_SHA256, RsaKeyPair};
        crate::domain::keys::provider::install();
        let rng = SystemRandom::new();
        let expected = |jwk: &Value| {
            let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
        };

        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        let ed = Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap();
        let jwk = json!({"kty": "OKP", "crv": "Ed25519",
            "x": URL_SAFE_NO_PAD.encode(ed.public_key().as_ref())});
        let header = json!({"typ": PROOF_TYP, "alg": "EdDSA", "jwk": jwk});
        let proof = hand_signed(&header, &claims(), |m| ed.sign(m).as_ref().to_vec());
        assert_eq!(check(&proof, &ctx(), NOW).unwrap().jkt, expected(&jwk));

        let rsa = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
        let public = rsa.public_key();
        let n = public.modulus().big_endian_without_leading_zero();
        let e = public.exponent().big_endian_without_leading_zero();
        let jwk =
            json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": URL_SAFE_NO_PAD.encode(e)});
        let header = json!({"typ": PROOF_TYP, "alg": "RS256", "jwk": jwk});
        let proof = hand_signed(&header, &claims(), |m| {
            let mut sig = vec![0; rsa.public_modulus_len()];
            rsa.sign(&RSA_PKCS1_SHA256, &rng, m, &mut sig).unwrap();
            sig
        });
        assert_eq!(check(&proof, &ctx(), NOW).unwrap().jkt, expected(&jwk));
    }

    #[test]
    fn symmetric_none_or_mismatched_algorithms_and_broken_proofs_are_refused() {
        crate::domain::keys::provider::install();
        let key = ProofKey::new();
        let good = key.sign(&claims());
        let (head, rest) = good.split_once('.').unwrap();
        let refused = |alg: &str| {
            let header = json!({"typ": PROOF_TYP, "alg": alg, "jwk": key.jwk});
            let head = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header).unwrap());
            check(&format!("{head}.{rest}"), &ctx(), NOW).unwrap_err().0
        };
        assert_eq!(refused("none"), "algorithm not allowed");
        assert_eq!(refused("HS256"), "algorithm not allowed");
        // A coordinate padded to 33 bytes names the same point: refused,
        // so that a key has one thumbprint.
        let x = URL_SAFE_NO_PAD
            .decode(key.jwk["x"].as_str().unwrap())
            .unwrap();
        let mut padded = key.jwk.clone();
        padded["x"] = URL_SAFE_NO_PAD.encode([&[0u8][..], &x].concat()).into();
        let proof = key.sign_with(PROOF_TYP, &padded, &claims());
        assert_eq!(check(&proof, &ctx(), NOW).unwrap_err().0, "unusable jwk");
        // An EC key does not sign EdDSA or RS256.
        assert_eq!(refused("EdDSA"), "key type does not fit the algorithm");
        assert_eq!(refused("RS256"), "key type does not fit the algorithm");
        for broken in [
            head.to_owned(),
            format!("{head}.{rest}.extra"),
            format!("!{good}"),
            good.replacen('.', "..", 1),
        ] {
            assert!(check(&broken, &ctx(), NOW).is_err(), "{broken}");
        }
        // The signature covers the claims.
        let sig = good.rsplit_once('.').unwrap().1;
        let mut c = claims();
        c["jti"] = "other".into();
        let other = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&c).unwrap());
        let tampered = format!("{head}.{other}.{sig}");
        assert_eq!(
            check(&tampered, &ctx(), NOW).unwrap_err().0,
            "signature or claims invalid"
        );
    }
}
