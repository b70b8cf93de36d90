//! Token checks (RFC 9068 §4): a valid token's claims, and one test per
//! reason for refusal.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use tessera_verifier::{SigningAlgorithm, Verifier, VerifyError};

use crate::helpers::{AUDIENCE, key1, key2, now, sign, sign_with, spawn_issuer, unsigned};

#[tokio::test]
async fn a_valid_token_verifies_and_exposes_its_claims() {
    // Arrange
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let token = sign(key1(), &issuer.claims());

    // Act
    let claims = verifier.verify(&token).await.unwrap();

    // Assert
    assert_eq!(claims.iss, issuer.issuer);
    assert_eq!(claims.sub, "alice");
    assert_eq!(claims.aud, [AUDIENCE]);
    assert_eq!(claims.client_id, "reports-spa");
    assert_eq!(claims.sid.as_deref(), Some("session-1"));
    assert!(claims.has_scope("reports:read"));
    assert!(!claims.has_scope("reports:write"));
    assert!(claims.has_role("auditor"));
    assert!(claims.auth_time.is_some());
}

#[tokio::test]
async fn an_audience_list_containing_ours_and_the_media_type_typ_are_accepted() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut claims = issuer.claims();
    claims["aud"] = json!(["other-api", AUDIENCE]);
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("application/AT+JWT".into());
    header.kid = Some(key1().kid.clone());

    let verified = verifier
        .verify(&sign_with(&header, &key1().encoding, &claims))
        .await
        .unwrap();

    assert_eq!(verified.aud, ["other-api", AUDIENCE]);
}

#[tokio::test]
async fn a_token_with_alg_none_is_refused() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let header = json!({ "alg": "none", "typ": "at+jwt", "kid": key1().kid });

    let result = verifier.verify(&unsigned(&header, &issuer.claims())).await;

    assert_eq!(result.unwrap_err(), VerifyError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn a_token_hmac_signed_with_the_public_key_is_refused() {
    // Arrange: the classic algorithm-confusion forgery.
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    header.kid = Some(key1().kid.clone());
    let forged = sign_with(
        &header,
        &EncodingKey::from_secret(&key1().public_der),
        &issuer.claims(),
    );

    // Act
    let result = verifier.verify(&forged).await;

    // Assert
    assert_eq!(result.unwrap_err(), VerifyError::UnsupportedAlgorithm);
}

#[tokio::test]
async fn an_id_token_is_not_accepted_as_an_access_token() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut header = Header::new(Algorithm::RS256);
    header.typ = Some("JWT".into());
    header.kid = Some(key1().kid.clone());

    let result = verifier
        .verify(&sign_with(&header, &key1().encoding, &issuer.claims()))
        .await;

    assert_eq!(result.unwrap_err(), VerifyError::WrongType);
}

#[tokio::test]
async fn a_token_signed_with_an_unpublished_key_is_refused() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;

    let result = verifier.verify(&sign(key2(), &issuer.claims())).await;

    assert_eq!(result.unwrap_err(), VerifyError::UnknownKey);
}

#[tokio::test]
async fn a_tampered_payload_fails_the_signature_check() {
    // Arrange: swap in a payload granting more, keep the signature.
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let original = sign(key1(), &issuer.claims());
    let mut claims = issuer.claims();
    claims["roles"] = json!(["admin"]);
    let other = sign(key1(), &claims);
    let parts: Vec<&str> = original.split('.').collect();
    let other_payload = other.split('.').nth(1).unwrap();
    let tampered = format!("{}.{}.{}", parts[0], other_payload, parts[2]);

    // Act
    let result = verifier.verify(&tampered).await;

    // Assert
    assert_eq!(result.unwrap_err(), VerifyError::BadSignature);
}

#[tokio::test]
async fn an_expired_token_is_refused_but_the_leeway_is_honoured() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut expired = issuer.claims();
    expired["exp"] = json!(now() - 120);
    let mut within_leeway = issuer.claims();
    within_leeway["exp"] = json!(now() - 10);

    assert_eq!(
        verifier.verify(&sign(key1(), &expired)).await.unwrap_err(),
        VerifyError::Expired
    );
    assert!(verifier.verify(&sign(key1(), &within_leeway)).await.is_ok());
}

#[tokio::test]
async fn a_token_before_its_nbf_or_iat_is_not_valid_yet() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut early_nbf = issuer.claims();
    early_nbf["nbf"] = json!(now() + 300);
    let mut early_iat = issuer.claims();
    early_iat["iat"] = json!(now() + 300);

    assert_eq!(
        verifier
            .verify(&sign(key1(), &early_nbf))
            .await
            .unwrap_err(),
        VerifyError::NotYetValid
    );
    assert_eq!(
        verifier
            .verify(&sign(key1(), &early_iat))
            .await
            .unwrap_err(),
        VerifyError::NotYetValid
    );
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut claims = issuer.claims();
    claims["iss"] = json!(format!("{}/", issuer.issuer));

    let result = verifier.verify(&sign(key1(), &claims)).await;

    assert_eq!(result.unwrap_err(), VerifyError::WrongIssuer);
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut claims = issuer.claims();
    claims["aud"] = json!(["billing-api"]);

    let result = verifier.verify(&sign(key1(), &claims)).await;

    assert_eq!(result.unwrap_err(), VerifyError::WrongAudience);
}

#[tokio::test]
async fn garbage_and_tokens_missing_claims_are_malformed() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let mut no_jti = issuer.claims();
    no_jti.as_object_mut().unwrap().remove("jti");

    assert_eq!(
        verifier.verify("not-a-token").await.unwrap_err(),
        VerifyError::Malformed
    );
    assert_eq!(
        verifier.verify(&sign(key1(), &no_jti)).await.unwrap_err(),
        VerifyError::Malformed
    );
    // None of these needed the JWKS again.
    assert_eq!(issuer.state.jwks_hits(), 1);
}

/// A P-256 key pair: the signer and its public JWK.
fn p256_key(kid: &str) -> (EncodingKey, serde_json::Value) {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let alg = &ECDSA_P256_SHA256_FIXED_SIGNING;
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(alg, &SystemRandom::new()).unwrap();
    let point = EcdsaKeyPair::from_pkcs8(alg, pkcs8.as_ref())
        .unwrap()
        .public_key()
        .as_ref()
        .to_vec();
    let jwk = serde_json::json!({
        "kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
        "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
    });
    (EncodingKey::from_ec_der(pkcs8.as_ref()), jwk)
}

#[tokio::test]
async fn es256_tokens_verify_only_where_the_resource_server_accepts_es256() {
    // Arrange: the issuer publishes an RSA and a P-256 key.
    let issuer = spawn_issuer().await;
    let (ec_signer, ec_jwk) = p256_key("ec-1");
    issuer.state.keys.lock().unwrap().push(ec_jwk);
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("ec-1".into());
    let es256 = sign_with(&header, &ec_signer, &issuer.claims());
    let both = [SigningAlgorithm::RS256, SigningAlgorithm::ES256];
    let verifier = Verifier::discover(issuer.config().with_algorithms(&both))
        .await
        .unwrap();
    let default = issuer.verifier().await;

    // Act and assert
    assert_eq!(
        verifier.verify(&es256).await.unwrap().sub,
        issuer.claims()["sub"]
    );
    assert_eq!(
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .map(|c| c.sub),
        Ok(issuer.claims()["sub"].as_str().unwrap().to_owned())
    );
    assert_eq!(
        default.verify(&es256).await.unwrap_err(),
        VerifyError::UnsupportedAlgorithm,
        "RS256 only unless configured"
    );
    // An ES256 header naming the RSA key, or the reverse, is refused.
    header.kid = Some(key1().kid.clone());
    let crossed = sign_with(&header, &ec_signer, &issuer.claims());
    assert_eq!(
        verifier.verify(&crossed).await.unwrap_err(),
        VerifyError::BadSignature
    );
    let mut rs_header = Header::new(Algorithm::RS256);
    rs_header.typ = Some("at+jwt".into());
    rs_header.kid = Some("ec-1".into());
    let crossed = sign_with(&rs_header, &key1().encoding, &issuer.claims());
    assert_eq!(
        verifier.verify(&crossed).await.unwrap_err(),
        VerifyError::BadSignature
    );
}
