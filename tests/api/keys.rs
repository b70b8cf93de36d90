//! Signing-key rotation: publish before sign, retire after the last token
//! expires, a running server picking up rotations made by the CLI, and the
//! emergency path for a leaked key (`rotate --now`, `revoke`).

use crate::helpers::{TestApp, kid_of, kids_of, spawn_app_with, stdout_ok, verify_access_token};

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
    // Each algorithm rotated: a new ES256 key waits beside the old one too.
    let rsa = app.wait_for_keys_of("RS256", 2).await;
    let new_kid = rsa.into_iter().find(|k| *k != old_kid).unwrap();
    assert_eq!(kids_of(&app.jwks().await, "ES256").len(), 2);
    let during = app.client_credentials_token("svc", &secret).await;
    assert_eq!(kid_of(&during), old_kid);

    // Once every cached JWKS has expired the new key signs.
    app.clock
        .advance(app.settings.jwks_max_age + app.settings.key_check_interval);
    let after = app.client_credentials_token("svc", &secret).await;
    assert_eq!(kid_of(&after), new_kid);

    // Tokens signed before the rotation still verify against the JWKS.
    let jwks = app.jwks().await;
    assert_eq!(kids_of(&jwks, "RS256").len(), 2);
    verify_access_token(&before, &jwks, &app.address, &app.address);
    verify_access_token(&after, &jwks, &app.address, &app.address);

    // The retired key leaves once every token it signed has expired.
    app.clock.advance(app.settings.access_token_ttl + 61);
    let jwks = app.jwks().await;
    assert_eq!(kids_of(&jwks, "RS256"), [new_kid]);
    assert_eq!(kids_of(&jwks, "ES256").len(), 1);
}

/// The kid a `keys rotate` run printed.
fn created_kid(out: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix("created signing key "))
        .unwrap_or_else(|| panic!("no kid in: {out}"))
        .to_owned()
}

impl TestApp {
    /// Polls (the server notices CLI changes on its next key check) until
    /// tokens are signed with `kid`, and returns one of them.
    async fn token_signed_by(&self, kid: &str, secret: &str) -> String {
        for _ in 0..100 {
            let token = self.client_credentials_token("svc", secret).await;
            if kid_of(&token) == kid {
                return token;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        panic!("tokens never came signed by {kid}");
    }

    fn key_states(&self) -> Vec<(String, String)> {
        let listed = stdout_ok(&self.cli(&["keys", "list"], None));
        listed
            .lines()
            .skip(1)
            .map(|l| {
                let mut cols = l.split_whitespace();
                (
                    cols.next().unwrap().to_owned(),
                    cols.next().unwrap().to_owned(),
                )
            })
            .collect()
    }
}

#[tokio::test]
async fn rotate_now_without_a_pending_key_signs_with_the_new_key_at_once() {
    // Arrange
    let app = spawn_app_with(|s| s.jwks_max_age = 600).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let old_kid = kid_of(&app.client_credentials_token("svc", &secret).await);

    // Act
    let out = stdout_ok(&app.cli(&["keys", "rotate", "--now"], None));

    // Assert: the server's clock never moves, so "at once" means now.
    assert!(out.contains("warning"), "{out}");
    let new_kid = created_kid(&out);
    let token = app.token_signed_by(&new_kid, &secret).await;
    let jwks = app.jwks().await;
    assert!(jwks.find(&new_kid).is_some());
    verify_access_token(&token, &jwks, &app.address, &app.address);
    let states = app.key_states();
    assert!(states.contains(&(new_kid, "active".into())), "{states:?}");
    assert!(states.contains(&(old_kid, "retired".into())), "{states:?}");
}

#[tokio::test]
async fn rotate_now_over_a_pending_key_signs_at_once_and_drops_the_pending_key() {
    // Arrange: an ordinary rotation leaves a key waiting for ten minutes.
    let app = spawn_app_with(|s| s.jwks_max_age = 600).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let old_kid = kid_of(&app.client_credentials_token("svc", &secret).await);
    let pending = created_kid(&stdout_ok(&app.cli(&["keys", "rotate"], None)));
    app.wait_for_keys_of("RS256", 2).await;

    // Act
    let out = stdout_ok(&app.cli(&["keys", "rotate", "--now"], None));

    // Assert: the emergency key signs now, the pending one is gone for good.
    let new_kid = created_kid(&out);
    assert!(
        out.contains(&format!("dropped pending signing key {pending}")),
        "{out}"
    );
    app.token_signed_by(&new_kid, &secret).await;
    app.wait_for_keys_of("RS256", 2).await;
    let jwks = app.jwks().await;
    assert!(jwks.find(&new_kid).is_some());
    assert!(jwks.find(&pending).is_none());
    let states = app.key_states();
    assert!(
        states.contains(&(new_kid.clone(), "active".into())),
        "{states:?}"
    );
    assert!(states.iter().all(|(kid, _)| *kid != pending), "{states:?}");
    assert!(
        states.iter().all(|(_, state)| state != "next"),
        "{states:?}"
    );

    // Past the pending key's activation the emergency key still signs.
    app.clock
        .advance(app.settings.jwks_max_age + app.settings.key_check_interval);
    let later = app.client_credentials_token("svc", &secret).await;
    assert_eq!(kid_of(&later), new_kid);
    assert_ne!(kid_of(&later), old_kid);
}

#[tokio::test]
async fn rotate_now_twice_in_a_row_signs_with_the_newest_key() {
    // Arrange
    let app = spawn_app_with(|s| s.jwks_max_age = 600).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    app.client_credentials_token("svc", &secret).await;

    // Act: both within the same second, most likely.
    let first = created_kid(&stdout_ok(&app.cli(&["keys", "rotate", "--now"], None)));
    let second = created_kid(&stdout_ok(&app.cli(&["keys", "rotate", "--now"], None)));

    // Assert
    assert_ne!(first, second);
    app.token_signed_by(&second, &secret).await;
    app.wait_for_keys_of("RS256", 3).await;
    let jwks = app.jwks().await;
    assert!(jwks.find(&second).is_some());
    assert!(
        jwks.find(&first).is_some(),
        "its tokens may still be in use"
    );
    let states = app.key_states();
    assert!(states.contains(&(second, "active".into())), "{states:?}");
    assert!(states.contains(&(first, "retired".into())), "{states:?}");
}

#[tokio::test]
async fn revoking_a_leaked_key_removes_it_from_the_jwks_and_refuses_its_tokens() {
    // Arrange: a token signed by the key that leaked, then an emergency rotation.
    let app = spawn_app_with(|s| s.jwks_max_age = 600).await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let leaked_token = app.client_credentials_token("svc", &secret).await;
    let leaked = kid_of(&leaked_token);
    let fresh = created_kid(&stdout_ok(&app.cli(&["keys", "rotate", "--now"], None)));
    let fresh_token = app.token_signed_by(&fresh, &secret).await;
    assert_eq!(
        app.active(("svc", &secret), &leaked_token).await["active"],
        true
    );

    // The key signing now and an unknown kid are refused.
    let refused = app.cli(&["keys", "revoke", &fresh], None);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("signing now") && err.contains("--now"),
        "{err}"
    );
    let unknown = app.cli(&["keys", "revoke", "no-such-kid"], None);
    assert_eq!(unknown.status.code(), Some(1));

    // Act
    let out = stdout_ok(&app.cli(&["keys", "revoke", &leaked], None));

    // Assert: gone from the JWKS and from the store; its token verifies nowhere.
    assert!(out.contains(&leaked), "{out}");
    app.wait_for_keys_of("RS256", 1).await;
    let jwks = app.jwks().await;
    assert!(jwks.find(&leaked).is_none());
    assert!(jwks.find(&fresh).is_some());
    assert!(app.key_states().iter().all(|(kid, _)| *kid != leaked));
    assert_eq!(
        app.active(("svc", &secret), &leaked_token).await["active"],
        false
    );
    assert_eq!(
        app.active(("svc", &secret), &fresh_token).await["active"],
        true
    );
    assert_eq!(
        kid_of(&app.client_credentials_token("svc", &secret).await),
        fresh
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
    app.wait_for_keys_of("RS256", 2).await;
    let jwks = app.wait_for_keys_of("ES256", 2).await;
    let jwks_now = app.jwks().await;

    // Assert: published first, signing only after the publish wait.
    assert_eq!(
        kid_of(&app.client_credentials_token("svc", &secret).await),
        old_kid
    );
    app.clock
        .advance(app.settings.jwks_max_age + app.settings.key_check_interval);
    let new_kid = kid_of(&app.client_credentials_token("svc", &secret).await);
    assert_ne!(new_kid, old_kid);
    assert!(jwks_now.find(&new_kid).is_some());
    assert_eq!(jwks.len(), 2);
}
