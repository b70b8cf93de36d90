//! Entry points for the fuzz targets in `fuzz/` (and the seed corpus that
//! `cargo test` replays). Each takes untrusted bytes, runs the parser that
//! sees them in production and asserts what must hold for every input, so
//! a violated property is a crash the fuzzer reports, not only a panic.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};

use crate::config::SigningAlgorithm;
use crate::error::VerifyError;
use crate::token::{self, Expectations};

/// The modulus of an RSA key whose private half was thrown away when it was
/// made: no input can carry a valid signature for it.
const UNSIGNABLE_N: &str = "r9fJWX54oDUkmmdJ3TpmsBRxFkE4o8uUlfJWOb3qM9gnyOLloXK0lkHC76WyaKFwSjFuJ17jgQIYKX9sjY-IXqSPRxeNZBguEqB6E-lf9bWv9tJJyEnsGeCZyJX6NPrwdVUUC120jLE_3ogGgftRTFXh44Va1JNY-CdzpHUtfKqdvu7BSuFGnLqZJLQLTOJ0PV9cDaBZEBEcLwLWv0oD6c7qCRxG0o-wCRO0kJ7ERe5TMmTaylUDP2aoW93riBe-aPx4C9BpTHGrvvAcoQCu7v2PpEPqaM4CPeABmB3RQU_7ARfbE7VS8wYfhM9dSvZbnSFyAHhrFm78LdmsyoIQPw";

/// The issuer and audience the fuzz targets expect.
pub const ISSUER: &str = "https://issuer.test";
/// See [`ISSUER`].
pub const AUDIENCE: &str = "api";
/// The `now` the targets check `iat` against.
pub const NOW: i64 = 1_800_000_000;
const LEEWAY: u64 = 60;

fn expectations() -> Expectations {
    Expectations {
        issuer: ISSUER.to_owned(),
        audience: AUDIENCE.to_owned(),
        leeway_secs: LEEWAY,
        algorithms: vec![SigningAlgorithm::RS256, SigningAlgorithm::ES256],
    }
}

/// A token as it arrives in an `Authorization` header: the header checks,
/// then the signature and claim checks against a key nobody can sign for.
/// Nothing may panic and nothing may verify.
pub fn token(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok((kid, alg)) = token::check_header(text, &expectations().algorithms) else {
        return;
    };
    assert!(
        text.split('.').count() == 3,
        "a header passed without three parts"
    );
    let Ok(key) = DecodingKey::from_rsa_components(UNSIGNABLE_N, "AQAB") else {
        unreachable!("the fixed modulus is valid base64url");
    };
    let result = token::check_claims(text, &key, alg, &expectations(), NOW);
    assert!(
        result.is_err(),
        "a token with kid {kid:?} verified against a key nobody can sign for"
    );
}

/// A signed token whose payload is `payload`, as a compromised or buggy
/// issuer could send: the claim checks must hold for whatever the JSON says.
/// `signer` and `key` are the two halves of one RSA key.
pub fn claims(payload: &[u8], signer: &EncodingKey, key: &DecodingKey) {
    let token = signed(payload, signer);
    let rs256 = SigningAlgorithm::RS256;
    assert_eq!(
        token::check_header(&token, &expectations().algorithms),
        Ok(("k".to_owned(), rs256))
    );
    match token::check_claims(&token, key, rs256, &expectations(), NOW) {
        Ok(claims) => {
            assert_eq!(claims.iss, ISSUER);
            assert!(claims.aud.iter().any(|a| a == AUDIENCE));
            assert!(claims.iat <= NOW + LEEWAY as i64);
        }
        Err(err) => assert!(
            !matches!(err, VerifyError::BadSignature | VerifyError::UnknownKey),
            "a correctly signed token was refused as {err:?}"
        ),
    }
}

/// An access token with `payload` as its claims, signed with `signer`.
fn signed(payload: &[u8], signer: &EncodingKey) -> String {
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"at+jwt","kid":"k"}"#);
    let message = format!("{header}.{}", URL_SAFE_NO_PAD.encode(payload));
    let Ok(signature) = jsonwebtoken::crypto::sign(message.as_bytes(), signer, Algorithm::RS256)
    else {
        unreachable!("signing with a valid RSA key cannot fail");
    };
    format!("{message}.{signature}")
}

#[cfg(test)]
mod tests {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::traits::PublicKeyParts;

    use super::*;

    #[test]
    fn a_valid_payload_verifies() {
        // The property in `claims` would hold vacuously if every payload
        // failed. (The seed corpus is replayed by the server crate's tests.)
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let der = private.to_pkcs1_der().unwrap();
        let n = URL_SAFE_NO_PAD.encode(private.n().to_bytes_be());
        let signer = EncodingKey::from_rsa_der(der.as_bytes());
        let key = DecodingKey::from_rsa_components(&n, "AQAB").unwrap();
        let payload = format!(
            r#"{{"iss":"{ISSUER}","sub":"u","aud":"{AUDIENCE}","exp":4000000000,"iat":{NOW},"jti":"j","client_id":"c"}}"#
        );
        let token = signed(payload.as_bytes(), &signer);
        let claims =
            token::check_claims(&token, &key, SigningAlgorithm::RS256, &expectations(), NOW)
                .unwrap();
        assert_eq!(claims.sub, "u");
    }
}
