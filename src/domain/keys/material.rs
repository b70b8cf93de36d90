//! RSA key generation and public JWK encoding, done with the `rsa` crate
//! (never used to sign). The `kid` is the RFC 7638 JWK thumbprint.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;
use serde::Serialize;
use sha2::{Digest, Sha256};

/// RSA modulus size for new keys.
pub const KEY_BITS: usize = 2048;

/// A public key as published in the JWKS (RFC 7517 §4, RFC 7518 §6.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicJwk {
    pub kty: &'static str,
    #[serde(rename = "use")]
    pub use_: &'static str,
    pub alg: &'static str,
    pub kid: String,
    pub n: String,
    pub e: String,
}

/// A private key in the two encodings the server needs.
pub struct KeyMaterial {
    pub kid: String,
    /// PKCS#8 DER, the storage form.
    pub pkcs8_der: Vec<u8>,
    /// PKCS#1 DER, the form jsonwebtoken's RSA `EncodingKey` takes.
    pub pkcs1_der: Vec<u8>,
    pub jwk: PublicJwk,
}

/// Why key material could not be produced or read.
#[derive(Debug, thiserror::Error)]
#[error("signing key material: {0}")]
pub struct MaterialError(String);

/// Generates a new RSA-2048 key.
pub fn generate() -> Result<KeyMaterial, MaterialError> {
    let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, KEY_BITS)
        .map_err(|e| MaterialError(e.to_string()))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| MaterialError(e.to_string()))?;
    from_key(&key, der.as_bytes().to_vec())
}

/// Reads a stored PKCS#8 DER key.
pub fn from_pkcs8(der: &[u8]) -> Result<KeyMaterial, MaterialError> {
    let key = RsaPrivateKey::from_pkcs8_der(der).map_err(|e| MaterialError(e.to_string()))?;
    from_key(&key, der.to_vec())
}

fn from_key(key: &RsaPrivateKey, pkcs8_der: Vec<u8>) -> Result<KeyMaterial, MaterialError> {
    let pkcs1 = key
        .to_pkcs1_der()
        .map_err(|e| MaterialError(e.to_string()))?;
    let n = URL_SAFE_NO_PAD.encode(key.n().to_bytes_be());
    let e = URL_SAFE_NO_PAD.encode(key.e().to_bytes_be());
    let kid = thumbprint(&n, &e);
    Ok(KeyMaterial {
        jwk: PublicJwk {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid: kid.clone(),
            n,
            e,
        },
        kid,
        pkcs8_der,
        pkcs1_der: pkcs1.as_bytes().to_vec(),
    })
}

/// RFC 7638 thumbprint of an RSA key: SHA-256 over the required members in
/// lexicographic order with no white space, base64url-encoded.
pub fn thumbprint(n: &str, e: &str) -> String {
    let canonical = format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        assert_eq!(
            thumbprint(n, "AQAB"),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn stored_keys_read_back_with_the_same_kid() {
        let k = generate().unwrap();
        let again = from_pkcs8(&k.pkcs8_der).unwrap();
        assert_eq!(k.kid, again.kid);
        assert_eq!(k.jwk, again.jwk);
        assert_eq!(k.pkcs1_der, again.pkcs1_der);
    }
}
