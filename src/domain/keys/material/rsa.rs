//! RSA-2048 keys, generated and encoded with the `rsa` crate, which never
//! signs (RUSTSEC-2023-0071).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::RsaPrivateKey;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::traits::PublicKeyParts;

use super::{JwkParams, KeyMaterial, MaterialError, PublicJwk};
use crate::domain::keys::alg::SigningAlg;

/// RSA modulus size for new keys.
pub const KEY_BITS: usize = 2048;

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
        alg: SigningAlg::RS256,
        jwk: PublicJwk {
            kty: "RSA",
            use_: "sig",
            alg: "RS256",
            kid: kid.clone(),
            params: JwkParams::Rsa { n, e },
        },
        kid,
        pkcs8_der,
        signing_der: pkcs1.as_bytes().to_vec(),
    })
}

/// RFC 7638 thumbprint of an RSA key.
pub fn thumbprint(n: &str, e: &str) -> String {
    super::thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))
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
}
