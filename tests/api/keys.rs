//! Signing-key rotation: publish before sign, retire after the last token
//! expires, and a running server picking up rotations made by the CLI.

use crate::helpers::{kid_of, spawn_app_with, stdout_ok, verify_access_token};

#[tokio::test]
async fn a_cli_rotation_is_published_before_it_signs() {
    // Arrange
    let app = spawn_app_with(|s| s.jwks_max_age = 60).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let before = app.client_credentials_token("svc", &secret).await;
    let old_kid = kid_of(&before);

    // Act: rotate through the CLI while the server runs.
    stdout_ok(&app.cli(&["keys", "rotate"], None));

    // Assert: the new key appears in the JWKS, but the old one still signs.
    let jwks = app.wait_for_jwks_len(2).await;
    let new_kid = jwks
        .keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .find(|k| *k != old_kid)
        .unwrap();
    let during = app.client_credentials_token("svc", &secret).await;
    assert_eq!(kid_of(&during), old_kid);

    // Once every cached JWKS has expired the new key signs.
    app.clock
        .advance(app.settings.jwks_max_age + app.settings.key_check_interval);
    let after = app.client_credentials_token("svc", &secret).await;
    assert_eq!(kid_of(&after), new_kid);

    // Tokens signed before the rotation still verify against the JWKS.
    let jwks = app.jwks().await;
    assert_eq!(jwks.keys.len(), 2);
    verify_access_token(&before, &jwks, &app.address, &app.address);
    verify_access_token(&after, &jwks, &app.address, &app.address);

    // The retired key leaves once every token it signed has expired.
    app.clock.advance(app.settings.access_token_ttl + 61);
    let jwks = app.jwks().await;
    assert_eq!(jwks.keys.len(), 1);
    assert_eq!(
        jwks.keys[0].common.key_id.as_deref(),
        Some(new_kid.as_str())
    );
}

#[tokio::test]
async fn rotate_now_signs_at_once_and_warns() {
    // Arrange
    let app = spawn_app_with(|s| s.jwks_max_age = 600).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let old_kid = kid_of(&app.client_credentials_token("svc", &secret).await);

    // Act
    let out = stdout_ok(&app.cli(&["keys", "rotate", "--now"], None));

    // Assert
    assert!(out.contains("warning"), "{out}");
    app.wait_for_jwks_len(2).await;
    // Activation has one-second resolution: a key made in the same second as
    // its predecessor's activation takes over at the next second.
    let mut new_kid = old_kid.clone();
    let mut listed = String::new();
    for _ in 0..30 {
        new_kid = kid_of(&app.client_credentials_token("svc", &secret).await);
        listed = stdout_ok(&app.cli(&["keys", "list"], None));
        if new_kid != old_kid && listed.contains("active") && listed.contains("retired") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_ne!(new_kid, old_kid);
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&new_kid) && l.contains("active")),
        "{listed}"
    );
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with(&old_kid) && l.contains("retired")),
        "{listed}"
    );
}

#[tokio::test]
async fn keys_rotate_on_schedule_without_any_command() {
    // Arrange
    let app = spawn_app_with(|s| {
        s.key_rotation_days = 1;
        s.jwks_max_age = 60;
    })
    .await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let old_kid = kid_of(&app.client_credentials_token("svc", &secret).await);

    // Act: a day passes; the server's own key check starts a rotation.
    app.clock.advance(86_400);
    let jwks = app.wait_for_jwks_len(2).await;

    // Assert: published first, signing only after the publish wait.
    assert_eq!(
        kid_of(&app.client_credentials_token("svc", &secret).await),
        old_kid
    );
    app.clock
        .advance(app.settings.jwks_max_age + app.settings.key_check_interval);
    let new_kid = kid_of(&app.client_credentials_token("svc", &secret).await);
    assert_ne!(new_kid, old_kid);
    assert!(jwks.find(&new_kid).is_some());
}
