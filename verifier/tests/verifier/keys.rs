//! The JWKS cache: key rotation, the refetch rate limit on unknown `kid`s,
//! `Cache-Control: max-age`, and an issuer that stops answering.

use std::sync::atomic::Ordering;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header};
use tessera_verifier::VerifyError;
use tokio::task::JoinSet;

use crate::helpers::{key1, key2, sign, sign_with, spawn_issuer};

#[tokio::test]
async fn a_token_signed_with_a_newly_published_key_verifies_after_a_refetch() {
    // Arrange: the issuer rotates after the verifier cached its JWKS.
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    issuer.state.publish(key2());

    // Act
    let result = verifier.verify(&sign(key2(), &issuer.claims())).await;

    // Assert
    assert!(result.is_ok(), "{result:?}");
    assert_eq!(issuer.state.jwks_hits(), 2);
    // The refreshed set still has the old key, and needs no further fetch.
    assert!(
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .is_ok()
    );
    assert_eq!(issuer.state.jwks_hits(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_unknown_kids_causes_at_most_one_refetch_per_interval() {
    // Arrange
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;
    let flood = |verifier: tessera_verifier::Verifier| {
        let mut tasks = JoinSet::new();
        for _ in 0..50 {
            let mut header = Header::new(Algorithm::RS256);
            header.typ = Some("at+jwt".into());
            header.kid = Some(format!("random-{}", rand::random::<u64>()));
            let token = sign_with(&header, &key1().encoding, &issuer.claims());
            let verifier = verifier.clone();
            tasks.spawn(async move { verifier.verify(&token).await });
        }
        tasks
    };

    // Act: two floods, both within the 10 s interval.
    let first = flood(verifier.clone()).join_all().await;
    let second = flood(verifier.clone()).join_all().await;

    // Assert: one fetch at discovery, one shared refetch.
    assert_eq!(issuer.state.jwks_hits(), 2);
    for result in first.into_iter().chain(second) {
        assert_eq!(result.unwrap_err(), VerifyError::UnknownKey);
    }
}

#[tokio::test]
async fn an_unknown_kid_may_refetch_again_once_the_interval_has_passed() {
    let issuer = spawn_issuer().await;
    let mut config = issuer.config();
    config.min_refetch_interval = Duration::from_millis(300);
    let verifier = tessera_verifier::Verifier::discover(config).await.unwrap();
    let token = sign(key2(), &issuer.claims());

    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::UnknownKey
    );
    assert_eq!(issuer.state.jwks_hits(), 2);
    issuer.state.publish(key2());
    tokio::time::sleep(Duration::from_millis(400)).await;

    assert!(verifier.verify(&token).await.is_ok());
    assert_eq!(issuer.state.jwks_hits(), 3);
}

#[tokio::test]
async fn within_max_age_the_jwks_is_not_fetched_again() {
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier().await;

    for _ in 0..5 {
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .unwrap();
    }

    assert_eq!(issuer.state.jwks_hits(), 1);
}

#[tokio::test]
async fn with_max_age_zero_every_verification_refetches() {
    let issuer = spawn_issuer().await;
    *issuer.state.cache_control.lock().unwrap() = "max-age=0".into();
    let verifier = issuer.verifier().await;

    for _ in 0..3 {
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .unwrap();
    }

    assert_eq!(issuer.state.jwks_hits(), 1 + 3);
}

#[tokio::test]
async fn an_expired_jwks_is_refetched_on_the_next_verification() {
    let issuer = spawn_issuer().await;
    *issuer.state.cache_control.lock().unwrap() = "public, max-age=1".into();
    let verifier = issuer.verifier().await;
    verifier
        .verify(&sign(key1(), &issuer.claims()))
        .await
        .unwrap();
    assert_eq!(issuer.state.jwks_hits(), 1);

    tokio::time::sleep(Duration::from_millis(1100)).await;
    verifier
        .verify(&sign(key1(), &issuer.claims()))
        .await
        .unwrap();

    assert_eq!(issuer.state.jwks_hits(), 2);
}

#[tokio::test]
async fn when_the_jwks_is_unavailable_cached_keys_still_verify() {
    // Arrange: a stale cache and an issuer answering 500.
    let issuer = spawn_issuer().await;
    *issuer.state.cache_control.lock().unwrap() = "max-age=0".into();
    let verifier = issuer.verifier().await;
    issuer.state.jwks_status.store(500, Ordering::SeqCst);

    // Act
    let known = verifier.verify(&sign(key1(), &issuer.claims())).await;
    let unknown = verifier.verify(&sign(key2(), &issuer.claims())).await;
    let known_again = verifier.verify(&sign(key1(), &issuer.claims())).await;

    // Assert: one failed attempt, then backing off.
    assert!(known.is_ok(), "{known:?}");
    assert_eq!(unknown.unwrap_err(), VerifyError::KeysUnavailable);
    assert!(known_again.is_ok(), "{known_again:?}");
    assert_eq!(issuer.state.jwks_hits(), 1 + 2);
}
