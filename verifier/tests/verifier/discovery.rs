//! Set-up by discovery (OpenID Connect Discovery 1.0 §4): the document must
//! speak for the configured issuer and name the endpoints we need.

use std::net::TcpListener;
use std::sync::atomic::Ordering;

use tessera_verifier::{SetupError, Verifier, VerifierConfig};

use crate::helpers::{AUDIENCE, spawn_issuer};

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let issuer = spawn_issuer().await;
    *issuer.state.discovery_issuer.lock().unwrap() = "http://evil.example".into();

    let result = Verifier::discover(issuer.config()).await;

    assert!(
        matches!(&result, Err(SetupError::Discovery(m)) if m.contains("evil.example")),
        "{result:?}"
    );
    assert_eq!(issuer.state.jwks_hits(), 0);
}

#[tokio::test]
async fn a_configured_issuer_with_a_trailing_slash_does_not_match() {
    let issuer = spawn_issuer().await;

    let result =
        Verifier::discover(VerifierConfig::new(format!("{}/", issuer.issuer), AUDIENCE)).await;

    assert!(
        matches!(result, Err(SetupError::Discovery(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn a_feed_cannot_be_followed_if_the_issuer_does_not_publish_one() {
    let issuer = spawn_issuer().await;
    issuer.state.advertise_feed.store(false, Ordering::SeqCst);

    let result = Verifier::discover(issuer.config_with_feed()).await;

    assert!(
        matches!(result, Err(SetupError::Discovery(_))),
        "{result:?}"
    );
}

#[tokio::test]
async fn an_unreachable_issuer_is_an_http_error() {
    // A port that was free a moment ago.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();

    let result = Verifier::discover(VerifierConfig::new(
        format!("http://127.0.0.1:{port}"),
        AUDIENCE,
    ))
    .await;

    assert!(matches!(result, Err(SetupError::Http(_))), "{result:?}");
}

#[tokio::test]
async fn a_jwks_that_cannot_be_fetched_fails_set_up() {
    let issuer = spawn_issuer().await;
    issuer.state.jwks_status.store(404, Ordering::SeqCst);

    let result = Verifier::discover(issuer.config()).await;

    assert!(
        matches!(&result, Err(SetupError::Http(m)) if m.contains("404")),
        "{result:?}"
    );
}
