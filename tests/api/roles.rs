//! User roles: set by the CLI and the console, carried in tokens.

use serde_json::Value;

use crate::authorize::{AuthRequest, PASSWORD, hidden_field};
use crate::helpers::{spawn_app, stdout_ok, verify_access_token};

const CB: &str = "http://127.0.0.1:5175/callback";

#[tokio::test]
async fn roles_reach_access_tokens_id_tokens_and_userinfo() {
    // Arrange
    let app = spawn_app().await;
    stdout_ok(&app.cli(
        &[
            "user",
            "add",
            "dave",
            "--password-stdin",
            "--role",
            "editor",
            "--role",
            "moderator",
        ],
        Some(&format!("{PASSWORD}\n")),
    ));
    stdout_ok(&app.cli(
        &[
            "client",
            "add",
            "rolespa",
            "--public",
            "--redirect-uri",
            CB,
            "--scopes",
            "openid roles offline_access",
        ],
        None,
    ));
    let listed = stdout_ok(&app.cli(&["user", "list"], None));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("dave") && l.contains("editor,moderator")),
        "{listed}"
    );
    let mut req = AuthRequest::new("rolespa", CB);
    req.scope = "openid roles".into();

    // Act
    let code = app.sign_in_for_code(&req, "dave").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();

    // Assert
    let jwks = app.jwks().await;
    let access = verify_access_token(
        tokens["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_eq!(access["roles"], serde_json::json!(["editor", "moderator"]));
    let id_payload = tokens["id_token"]
        .as_str()
        .unwrap()
        .split('.')
        .nth(1)
        .unwrap()
        .to_owned();
    let id: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_payload,
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(id["roles"], serde_json::json!(["editor", "moderator"]));
    let info: Value = app
        .userinfo(tokens["access_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(info["roles"], serde_json::json!(["editor", "moderator"]));

    // A change reaches the next refresh.
    stdout_ok(&app.cli(&["user", "roles", "dave", "--set", "moderator"], None));
    let refreshed: Value = app
        .refresh("rolespa", tokens["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let access = verify_access_token(
        refreshed["access_token"].as_str().unwrap(),
        &jwks,
        &app.address,
        &app.address,
    );
    assert_eq!(access["roles"], serde_json::json!(["moderator"]));
}

#[tokio::test]
async fn bad_role_names_are_refused_and_discovery_lists_the_claim() {
    let app = spawn_app().await;
    let out = app.cli(&["user", "add", "eve", "--role", "no spaces!"], None);
    assert!(!out.status.success());
    let (_, _, doc) = app.get_json("/.well-known/openid-configuration").await;
    assert!(
        doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("roles"))
    );
    assert!(
        doc["scopes_supported"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("roles"))
    );
}

#[tokio::test]
async fn the_console_edits_a_users_roles() {
    // Arrange
    let app = crate::authorize::app_with_spa().await;
    let (user, pass) = (app.admin_username.clone(), app.admin_password.clone());
    app.console_sign_in(&user, &pass).await;
    let (_, html) = app.admin_page("/admin/users/alice").await;
    let csrf = hidden_field(&html, "csrf_token");

    // Act
    let res = app
        .admin_post(
            "/admin/users/alice/roles",
            &[("csrf_token", &csrf), ("roles", "moderator, editor")],
            None,
        )
        .await;

    // Assert
    assert_eq!(res.status(), 303);
    let (_, html) = app.admin_page("/admin/users/alice").await;
    assert!(html.contains(r#"value="editor, moderator""#), "{html}");
}
