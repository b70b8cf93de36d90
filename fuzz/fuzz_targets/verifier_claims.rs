#![no_main]

use std::sync::LazyLock;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{DecodingKey, EncodingKey};
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;

/// One RSA key for the whole run: the target signs each input with it.
static KEYS: LazyLock<(EncodingKey, DecodingKey)> = LazyLock::new(|| {
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let der = private.to_pkcs1_der().unwrap();
    let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
    (
        EncodingKey::from_rsa_der(der.as_bytes()),
        DecodingKey::from_rsa_components(&n, "AQAB").unwrap(),
    )
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let (signer, key) = &*KEYS;
    tessera_verifier::fuzzing::claims(data, signer, key);
});
