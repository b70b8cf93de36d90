//! Key generation and public JWK encoding for each signing algorithm. The
//! `kid` is the RFC 7638 JWK thumbprint. Signing itself goes through
//! aws-lc-rs (see [`super::provider`]).

pub mod ec;
pub mod rsa;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::alg::SigningAlg;

/// A public key as published in the JWKS (RFC 7517 §4, RFC 7518 §6).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    #[serde(flatten)]
    pub params: JwkParams,
}

/// The key-type specific members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum JwkParams {
    /// RFC 7518 §6.3.1.
    Rsa { n: String, e: String },
    /// RFC 7518 §6.2.1, uncompressed coordinates.
    Ec {
        crv: &'static str,
        x: String,
        y: String,
    },
}

impl PublicJwk {
    /// The key to verify this server's own tokens with.
    pub fn decoding_key(&self) -> Result<DecodingKey, MaterialError> {
        match &self.params {
            JwkParams::Rsa { n, e } => DecodingKey::from_rsa_components(n, e),
            JwkParams::Ec { x, y, .. } => DecodingKey::from_ec_components(x, y),
        }
        .map_err(|e| MaterialError(e.to_string()))
    }
}

/// A private key in the forms the server needs.
pub struct KeyMaterial {
    pub alg: SigningAlg,
    pub kid: String,
    /// PKCS#8 DER, the storage form.
    pub pkcs8_der: Vec<u8>,
    /// The DER jsonwebtoken's `EncodingKey` holds: PKCS#1 for RSA, PKCS#8
    /// for EC.
    pub signing_der: Vec<u8>,
    pub jwk: PublicJwk,
}

impl KeyMaterial {
    /// The key to sign with.
    pub fn encoding_key(&self) -> EncodingKey {
        match self.alg {
            SigningAlg::RS256 => EncodingKey::from_rsa_der(&self.signing_der),
            SigningAlg::ES256 => EncodingKey::from_ec_der(&self.signing_der),
        }
    }
}

/// Why key material could not be produced or read.
#[derive(Debug, thiserror::Error)]
#[error("signing key material: {0}")]
pub struct MaterialError(pub(super) String);

/// Generates a new key for `alg`.
pub fn generate(alg: SigningAlg) -> Result<KeyMaterial, MaterialError> {
    match alg {
        SigningAlg::RS256 => rsa::generate(),
        SigningAlg::ES256 => ec::generate(),
    }
}

/// Reads a stored PKCS#8 DER key of `alg`.
pub fn from_pkcs8(alg: SigningAlg, der: &[u8]) -> Result<KeyMaterial, MaterialError> {
    match alg {
        SigningAlg::RS256 => rsa::from_pkcs8(der),
        SigningAlg::ES256 => ec::from_pkcs8(der),
    }
}

/// RFC 7638 §3: SHA-256 over the required members, in lexicographic order
/// and with no white space (the caller's `canonical`), base64url-encoded.
fn thumbprint(canonical: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_keys_read_back_with_the_same_kid() {
        for alg in SigningAlg::ALL {
            let k = generate(alg).unwrap();
            let again = from_pkcs8(alg, &k.pkcs8_der).unwrap();
            assert_eq!(k.kid, again.kid, "{alg}");
            assert_eq!(k.jwk, again.jwk, "{alg}");
            assert_eq!(k.signing_der, again.signing_der, "{alg}");
            assert_eq!(k.jwk.alg, alg.as_str());
        }
    }

    #[test]
    fn a_key_of_one_kind_is_not_read_as_the_other() {
        let rsa = generate(SigningAlg::RS256).unwrap();
        let ec = generate(SigningAlg::ES256).unwrap();
        assert!(from_pkcs8(SigningAlg::ES256, &rsa.pkcs8_der).is_err());
        assert!(from_pkcs8(SigningAlg::RS256, &ec.pkcs8_der).is_err());
    }

    #[test]
    fn what_a_key_signs_verifies_with_its_published_jwk() {
        super::super::provider::install();
        for alg in SigningAlg::ALL {
            let k = generate(alg).unwrap();
            let mut header = jsonwebtoken::Header::new(alg.jwt());
            header.kid = Some(k.kid.clone());
            let claims = serde_json::json!({"sub": "s", "exp": 4_000_000_000u64});
            let token = jsonwebtoken::encode(&header, &claims, &k.encoding_key()).unwrap();
            let v = jsonwebtoken::Validation::new(alg.jwt());
            let key = k.jwk.decoding_key().unwrap();
            jsonwebtoken::decode::<serde_json::Value>(&token, &key, &v).unwrap();
        }
    }
}
