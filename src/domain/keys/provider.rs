//! jsonwebtoken's signing backend, with parsed signing keys kept in memory.
//!
//! jsonwebtoken's aws-lc-rs provider parses the DER private key on every
//! `encode`, which more than halves the RSA signing rate and costs an ECDSA
//! signature more than the signature itself. This provider keeps the parsed
//! aws-lc-rs key pair of every loaded signing key and falls back to the
//! stock provider for anything else. aws-lc-rs is constant-time; the `rsa`
//! crate never signs (RUSTSEC-2023-0071).

use std::sync::{Arc, LazyLock, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, RSA_PKCS1_SHA256, RsaKeyPair,
};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, aws_lc};
use jsonwebtoken::{Algorithm, EncodingKey};

use super::alg::SigningAlg;

/// A parsed key pair.
#[derive(Clone)]
enum Prepared {
    Rsa(Arc<RsaKeyPair>),
    Ec(Arc<EcdsaKeyPair>),
}

/// Parsed key pairs with the DER their `EncodingKey` holds. Process-wide
/// because jsonwebtoken's provider hook is a plain function pointer. A
/// list, not a map: it holds a handful of keys, and comparing DER is
/// cheaper than hashing it on every signature.
static PREPARED: RwLock<Vec<(Vec<u8>, Prepared)>> = RwLock::new(Vec::new());

static PROVIDER: LazyLock<CryptoProvider> = LazyLock::new(|| CryptoProvider {
    signer_factory: signer_for,
    verifier_factory: aws_lc::DEFAULT_PROVIDER.verifier_factory,
    key_utils: aws_lc::DEFAULT_PROVIDER.key_utils.clone(),
});

/// Installs the provider for this process. Safe to call more than once;
/// without an explicit install jsonwebtoken panics on first use when its
/// feature selection is ambiguous.
pub fn install() {
    let provider: &'static CryptoProvider = &PROVIDER;
    let _ = provider.install_default();
}

/// Parses a key's signing DER (PKCS#1 for RSA, PKCS#8 for EC) once and
/// keeps it for signing.
pub fn prepare(alg: SigningAlg, der: &[u8]) -> Result<(), String> {
    let mut list = PREPARED
        .write()
        .map_err(|_| "key cache poisoned".to_string())?;
    if !list.iter().any(|(d, _)| d == der) {
        let pair = match alg {
            SigningAlg::RS256 => Prepared::Rsa(Arc::new(
                RsaKeyPair::from_der(der).map_err(|e| e.to_string())?,
            )),
            SigningAlg::ES256 => Prepared::Ec(Arc::new(
                EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der)
                    .map_err(|e| e.to_string())?,
            )),
        };
        list.push((der.to_vec(), pair));
    }
    Ok(())
}

/// Drops a key that no longer signs.
pub fn forget(der: &[u8]) {
    if let Ok(mut list) = PREPARED.write() {
        list.retain(|(d, _)| d != der);
    }
}

struct PreparedRsaSigner(Arc<RsaKeyPair>);

impl signature::Signer<Vec<u8>> for PreparedRsaSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        let mut sig = vec![0; self.0.public_modulus_len()];
        self.0
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .map_err(signature::Error::from_source)?;
        Ok(sig)
    }
}

impl JwtSigner for PreparedRsaSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::RS256
    }
}

struct PreparedEcSigner(Arc<EcdsaKeyPair>);

impl signature::Signer<Vec<u8>> for PreparedEcSigner {
    fn try_sign(&self, msg: &[u8]) -> Result<Vec<u8>, signature::Error> {
        // The fixed (r || s) encoding JWS wants (RFC 7518 §3.4).
        let sig = self
            .0
            .sign(&SystemRandom::new(), msg)
            .map_err(signature::Error::from_source)?;
        Ok(sig.as_ref().to_vec())
    }
}

impl JwtSigner for PreparedEcSigner {
    fn algorithm(&self) -> Algorithm {
        Algorithm::ES256
    }
}

fn signer_for(
    alg: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    let cached = PREPARED.read().ok().and_then(|list| {
        list.iter()
            .find(|(der, _)| der == key.as_bytes())
            .map(|(_, pair)| pair.clone())
    });
    match (alg, cached) {
        (Algorithm::RS256, Some(Prepared::Rsa(pair))) => Ok(Box::new(PreparedRsaSigner(pair))),
        (Algorithm::ES256, Some(Prepared::Ec(pair))) => Ok(Box::new(PreparedEcSigner(pair))),
        _ => (aws_lc::DEFAULT_PROVIDER.signer_factory)(alg, key),
    }
}
