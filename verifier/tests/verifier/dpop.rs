//! DPoP-bound tokens (RFC 9449 §7): `verify` refuses them, `verify_dpop`
//! checks the proof against the request, the token and its `cnf.jkt`, and
//! the actix extractor takes both schemes.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};
use tessera_verifier::{DpopRequest, VerifyError};

use crate::helpers::{FakeIssuer, key1, now, sign, spawn_issuer};

const URL: &str = "https://api.example.com/posts/7";

/// A client's P-256 DPoP key.
pub struct ProofKey {
    signer: EncodingKey,
    jwk: Value,
}

impl ProofKey {
    pub fn new() -> Self {
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

    pub fn thumbprint(&self) -> String {
        let jwk: Jwk = serde_json::from_value(self.jwk.clone()).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    /// A proof with these claims (`jti` and `iat` filled in unless given).
    pub fn proof(&self, claims: Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(serde_json::from_value(self.jwk.clone()).unwrap());
        let mut c = json!({"jti": format!("p-{}", rand::random::<u64>()), "iat": now()});
        for (k, v) in claims.as_object().unwrap() {
            c[k] = v.clone();
        }
        jsonwebtoken::encode(&header, &c, &self.signer).unwrap()
    }

    /// A proof for `method` `url` carrying `token`'s hash.
    pub fn proof_for(&self, method: &str, url: &str, token: &str) -> String {
        self.proof(json!({"htm": method, "htu": url, "ath": ath(token)}))
    }
}

pub fn ath(token: &str) -> String {
    use sha2::Digest;
    URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(token.as_bytes()))
}

/// A token bound to `key`.
pub fn bound_token(issuer: &FakeIssuer, key: &ProofKey) -> String {
    let mut claims = issuer.claims();
    claims["cnf"] = json!({"jkt": key.thumbprint()});
    sign(key1(), &claims)
}

const DELETE: DpopRequest = DpopRequest {
    method: "DELETE",
    url: URL,
};

#[tokio::test]
async fn a_bound_token_verifies_only_with_a_proof_by_its_key_for_this_request() {
    // Arrange
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let key = ProofKey::new();
    let token = bound_token(&issuer, &key);

    // Act + Assert: the right proof, once.
    let proof = key.proof_for("DELETE", URL, &token);
    let claims = verifier.verify_dpop(&token, &proof, &DELETE).await.unwrap();
    assert_eq!(claims.cnf.unwrap().jkt, key.thumbprint());
    assert_eq!(
        verifier
            .verify_dpop(&token, &proof, &DELETE)
            .await
            .unwrap_err(),
        VerifyError::ProofReplayed
    );

    // As a bearer token it is refused outright.
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::DpopBound
    );

    // Another key, another request, another token, an old proof.
    let thief = ProofKey::new();
    let refused = [
        ("another key", thief.proof_for("DELETE", URL, &token)),
        ("another method", key.proof_for("GET", URL, &token)),
        (
            "another URL",
            key.proof_for("DELETE", "https://api.example.com/posts/8", &token),
        ),
        ("another token", key.proof_for("DELETE", URL, "other")),
        (
            "too old",
            key.proof(json!({"htm": "DELETE", "htu": URL, "ath": ath(&token), "iat": now() - 61})),
        ),
        ("no ath", key.proof(json!({"htm": "DELETE", "htu": URL}))),
        ("not a JWT", "x.y.z".to_owned()),
    ];
    for (case, proof) in refused {
        assert_eq!(
            verifier
                .verify_dpop(&token, &proof, &DELETE)
                .await
                .unwrap_err(),
            VerifyError::InvalidProof,
            "{case}"
        );
    }
    // The query and fragment of the request do not matter.
    let request = DpopRequest {
        method: "DELETE",
        url: "https://api.example.com/posts/7?force=1",
    };
    let proof = key.proof_for("DELETE", URL, &token);
    assert!(verifier.verify_dpop(&token, &proof, &request).await.is_ok());
}

#[tokio::test]
async fn an_unbound_token_is_not_accepted_with_a_proof() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let key = ProofKey::new();
    let token = sign(key1(), &issuer.claims());
    let proof = key.proof_for("DELETE", URL, &token);
    assert_eq!(
        verifier
            .verify_dpop(&token, &proof, &DELETE)
            .await
            .unwrap_err(),
        VerifyError::NotDpopBound
    );
}

#[tokio::test]
async fn a_full_replay_cache_refuses_new_proofs_as_a_transient_failure() {
    let issuer = spawn_issuer().await;
    let mut config = issuer.config();
    config.dpop_replay_capacity = 1;
    let verifier = tessera_verifier::Verifier::discover(config).await.unwrap();
    let key = ProofKey::new();
    let token = bound_token(&issuer, &key);
    let first = key.proof_for("DELETE", URL, &token);
    verifier.verify_dpop(&token, &first, &DELETE).await.unwrap();

    let second = key.proof_for("DELETE", URL, &token);
    let err = verifier
        .verify_dpop(&token, &second, &DELETE)
        .await
        .unwrap_err();

    assert_eq!(err, VerifyError::ReplayCacheFull);
    assert!(err.is_transient());
}
