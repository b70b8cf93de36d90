//! Following Tessera's revocation feed: revoked sessions, tokens and
//! clients are refused, stale entries are dropped, the cursor advances.

use std::time::Duration;

use serde_json::json;
use tessera_verifier::{FeedConfig, SetupError, Verifier, VerifyError};

use crate::helpers::{key1, now, sign, spawn_issuer};

#[tokio::test]
async fn a_token_of_a_revoked_session_is_refused_after_a_poll() {
    // Arrange
    let issuer = spawn_issuer().await;
    let verifier = issuer.verifier_with_feed().await;
    let token = sign(key1(), &issuer.claims());
    assert!(verifier.verify(&token).await.is_ok());
    issuer.state.revoke("sid", "session-1", now() + 300);

    // Act
    verifier.poll_revocations().await.unwrap();

    // Assert
    assert_eq!(
        verifier.verify(&token).await.unwrap_err(),
        VerifyError::Revoked
    );
    let mut other_session = issuer.claims();
    other_session["sid"] = json!("session-2");
    assert!(verifier.verify(&sign(key1(), &other_session)).await.is_ok());
}

#[tokio::test]
async fn revoked_token_ids_and_clients_are_refused() {
    let issuer = spawn_issuer().await;
    let mut by_jti = issuer.claims();
    by_jti["jti"] = json!("jti-revoked");
    by_jti["sid"] = json!("session-a");
    let mut by_client = issuer.claims();
    by_client["client_id"] = json!("retired-client");
    by_client["sid"] = json!("session-b");
    issuer.state.revoke("jti", "jti-revoked", now() + 300);
    issuer
        .state
        .revoke("client_id", "retired-client", now() + 300);

    // Entries published before start-up are read by discovery itself.
    let verifier = issuer.verifier_with_feed().await;

    assert_eq!(
        verifier.verify(&sign(key1(), &by_jti)).await.unwrap_err(),
        VerifyError::Revoked
    );
    assert_eq!(
        verifier
            .verify(&sign(key1(), &by_client))
            .await
            .unwrap_err(),
        VerifyError::Revoked
    );
}

#[tokio::test]
async fn entries_past_relevant_until_are_dropped() {
    // Arrange: no leeway, so `relevant_until` alone decides.
    let issuer = spawn_issuer().await;
    let mut config = issuer.config_with_feed();
    config.leeway = Duration::ZERO;
    issuer.state.revoke("sid", "session-1", now() - 3600);
    // Two seconds ahead, so the first check cannot straddle it.
    issuer.state.revoke("sid", "session-2", now() + 2);
    let verifier = Verifier::discover(config).await.unwrap();
    let mut session2 = issuer.claims();
    session2["sid"] = json!("session-2");

    // Act & Assert: the old entry never counts; the live one does, until
    // its `relevant_until` passes.
    assert!(
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .is_ok()
    );
    assert_eq!(
        verifier.verify(&sign(key1(), &session2)).await.unwrap_err(),
        VerifyError::Revoked
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    verifier.poll_revocations().await.unwrap();
    assert!(verifier.verify(&sign(key1(), &session2)).await.is_ok());
}

#[tokio::test]
async fn each_poll_continues_from_the_last_next_cursor() {
    // Arrange: three entries, served two per page.
    let issuer = spawn_issuer().await;
    for n in 1..=3 {
        issuer.state.revoke("jti", &format!("jti-{n}"), now() + 300);
    }

    // Act
    let verifier = issuer.verifier_with_feed().await;
    issuer.state.revoke("jti", "jti-4", now() + 300);
    verifier.poll_revocations().await.unwrap();
    verifier.poll_revocations().await.unwrap();

    // Assert: pages 1-2 and 3 at discovery, then 4, then nothing new.
    assert_eq!(issuer.state.feed_afters(), ["0", "2", "3", "3", "4", "4"]);
    let mut claims = issuer.claims();
    claims["jti"] = json!("jti-4");
    assert_eq!(
        verifier.verify(&sign(key1(), &claims)).await.unwrap_err(),
        VerifyError::Revoked
    );
}

#[tokio::test]
async fn the_background_task_polls_on_its_own() {
    let issuer = spawn_issuer().await;
    let mut feed = FeedConfig::new(crate::helpers::FEED_CLIENT, crate::helpers::FEED_SECRET);
    feed.poll_interval = Duration::from_secs(1);
    let verifier = Verifier::discover(issuer.config().with_revocation_feed(feed))
        .await
        .unwrap();
    issuer.state.revoke("sid", "session-1", now() + 300);

    tokio::time::sleep(Duration::from_millis(1500)).await;

    assert_eq!(
        verifier
            .verify(&sign(key1(), &issuer.claims()))
            .await
            .unwrap_err(),
        VerifyError::Revoked
    );
}

#[tokio::test]
async fn wrong_feed_credentials_fail_set_up() {
    let issuer = spawn_issuer().await;
    let config = issuer
        .config()
        .with_revocation_feed(FeedConfig::new("reports api", "wrong"));

    let result = Verifier::discover(config).await;

    assert!(
        matches!(&result, Err(SetupError::Http(m)) if m.contains("401")),
        "{result:?}"
    );
}
