//! P-256 keys for ES256, generated and read by aws-lc-rs.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::{JwkParams, KeyMaterial, MaterialError, PublicJwk};
use crate::domain::keys::alg::SigningAlg;

/// Length of one P-256 coordinate.
const COORDINATE: usize = 32;

/// Generates a new P-256 key.
pub fn generate() -> Result<KeyMaterial, MaterialError> {
    let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
        .map_err(|e| MaterialError(e.to_string()))?;
    let der = pair
        .to_pkcs8v1()
        .map_err(|e| MaterialError(e.to_string()))?;
    from_pair(&pair, der.as_ref().to_vec())
}

/// Reads a stored PKCS#8 DER key; anything but a P-256 key is refused.
pub fn from_pkcs8(der: &[u8]) -> Result<KeyMaterial, MaterialError> {
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
        .map_err(|e| MaterialError(e.to_string()))?;
    from_pair(&pair, der.to_vec())
}

fn from_pair(pair: &EcdsaKeyPair, pkcs8_der: Vec<u8>) -> Result<KeyMaterial, MaterialError> {
    // SEC 1 uncompressed point: 0x04, then x and y.
    let point = pair.public_key().as_ref();
    if point.len() != 1 + 2 * COORDINATE || point[0] != 0x04 {
        return Err(MaterialError("unexpected P-256 public key encoding".into()));
    }
    let x = URL_SAFE_NO_PAD.encode(&point[1..=COORDINATE]);
    let y = URL_SAFE_NO_PAD.encode(&point[1 + COORDINATE..]);
    let kid = thumbprint(&x, &y);
    Ok(KeyMaterial {
        alg: SigningAlg::ES256,
        jwk: PublicJwk {
            kty: "EC",
            use_: "sig",
            alg: "ES256",
            kid: kid.clone(),
            params: JwkParams::Ec { crv: "P-256", x, y },
        },
        kid,
        signing_der: pkcs8_der.clone(),
        pkcs8_der,
    })
}

/// RFC 7638 thumbprint of a P-256 key.
pub fn thumbprint(x: &str, y: &str) -> String {
    super::thumbprint(&format!(
        r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_kid_is_the_rfc_7638_thumbprint_of_the_published_jwk() {
        // Checked against jsonwebtoken's own RFC 7638 implementation.
        let k = generate().unwrap();
        let json = serde_json::to_value(&k.jwk).unwrap();
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(json).unwrap();
        let expected = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        assert_eq!(k.kid, expected);
    }
}
