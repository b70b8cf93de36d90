//! jsonwebtoken's signing backend, with parsed RSA keys kept in memory.
//!
//! jsonwebtoken's aws-lc-rs provider parses the DER private key on every
//! `encode`, which more than halves the signing rate. This provider keeps the
//! parsed aws-lc-rs key pair of every loaded signing key and falls back to the
//! stock provider for anything else. aws-lc-rs is constant-time; the `rsa`
//! crate never signs (RUSTSEC-2023-0071).

use std::sync::{Arc, LazyLock, RwLock};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use jsonwebtoken::crypto::{CryptoProvider, JwtSigner, aws_lc};
use jsonwebtoken::{Algorithm, EncodingKey};

/// Parsed key pairs with their PKCS#1 DER. Process-wide because
/// jsonwebtoken's provider hook is a plain function pointer. A list, not a
/// map: it holds two or three keys, and comparing DER is cheaper than
/// hashing it on every signature.
static PREPARED: RwLock<Vec<(Vec<u8>, Arc<RsaKeyPair>)>> = RwLock::new(Vec::new());

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

/// Parses a PKCS#1 DER key once and keeps it for signing.
pub fn prepare(pkcs1_der: &[u8]) -> Result<(), String> {
    let mut list = PREPARED
        .write()
        .map_err(|_| "key cache poisoned".to_string())?;
    if !list.iter().any(|(der, _)| der == pkcs1_der) {
        let pair = RsaKeyPair::from_der(pkcs1_der).map_err(|e| e.to_string())?;
        list.push((pkcs1_der.to_vec(), Arc::new(pair)));
    }
    Ok(())
}

/// Drops a key that no longer signs.
pub fn forget(pkcs1_der: &[u8]) {
    if let Ok(mut list) = PREPARED.write() {
        list.retain(|(der, _)| der != pkcs1_der);
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

fn signer_for(
    alg: &Algorithm,
    key: &EncodingKey,
) -> jsonwebtoken::errors::Result<Box<dyn JwtSigner>> {
    if *alg == Algorithm::RS256 {
        let cached = PREPARED.read().ok().and_then(|list| {
            list.iter()
                .find(|(der, _)| der == key.as_bytes())
                .map(|(_, pair)| pair.clone())
        });
        if let Some(pair) = cached {
            return Ok(Box::new(PreparedRsaSigner(pair)));
        }
    }
    (aws_lc::DEFAULT_PROVIDER.signer_factory)(alg, key)
}
