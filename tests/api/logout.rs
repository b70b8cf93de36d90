//! The end-session endpoint (RP-Initiated Logout 1.0).

use serde_json::Value;

use crate::authorize::{AuthRequest, SPA, app_with_spa, hidden_field, location, query_param};

#[tokio::test]
async fn logout_with_a_hint_ends_the_session_and_its_refresh_tokens() {
    // Arrange
    let app = app_with_spa().await;
    let online = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&online, "alice").await;
    let tokens: Value = app.redeem(&online, &code).await.json().await.unwrap();
    let mut offline = AuthRequest::new("spa", SPA);
    offline.scope = "openid offline_access".into();
    let res = app.get(&offline.url(&app)).await;
    let code = query_param(&location(&res), "code").unwrap();
    let offline_tokens: Value = app.redeem(&offline, &code).await.json().await.unwrap();
    let post_logout = format!("{SPA}/signed-out");

    // Act
    let res = app
        .get(&format!(
            "{}/logout?id_token_hint={}&post_logout_redirect_uri={}&state=bye",
            app.address,
            tokens["id_token"].as_str().unwrap(),
            url::form_urlencoded::byte_serialize(post_logout.as_bytes()).collect::<String>()
        ))
        .await;

    // Assert
    assert_eq!(res.status(), 302);
    assert_eq!(location(&res), format!("{post_logout}?state=bye"));
    let cleared = res.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("tessera_session=;") || cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let after = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&after), "error").as_deref(),
        Some("login_required")
    );
    assert!(app.refresh_token_revoked(tokens["refresh_token"].as_str().unwrap()));
    assert!(
        !app.refresh_token_revoked(offline_tokens["refresh_token"].as_str().unwrap()),
        "offline_access survives sign-out"
    );
    assert_eq!(
        app.userinfo(tokens["access_token"].as_str().unwrap())
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn an_unregistered_post_logout_redirect_is_refused() {
    let app = app_with_spa().await;
    let req = AuthRequest::new("spa", SPA);
    let code = app.sign_in_for_code(&req, "alice").await;
    let tokens: Value = app.redeem(&req, &code).await.json().await.unwrap();

    let res = app
        .get(&format!(
            "{}/logout?id_token_hint={}&post_logout_redirect_uri=https%3A%2F%2Fevil.example%2F",
            app.address,
            tokens["id_token"].as_str().unwrap()
        ))
        .await;

    assert_eq!(res.status(), 400);
    assert!(res.headers().get("location").is_none());
    // Nothing was ended.
    let still = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert!(query_param(&location(&still), "code").is_some());
}

#[tokio::test]
async fn logout_without_a_hint_asks_the_user_to_confirm() {
    // Arrange
    let app = app_with_spa().await;
    app.sign_in_for_code(&AuthRequest::new("spa", SPA), "alice")
        .await;

    // Act
    let page = app.get(&format!("{}/logout", app.address)).await;
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let still = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert!(
        query_param(&location(&still), "code").is_some(),
        "showing the page signs nobody out"
    );
    let forged = app.post_form("/logout", &[("confirm", "yes")]).await;
    let confirmed = app
        .post_form(
            "/logout",
            &[
                ("confirm", "yes"),
                ("csrf_token", &hidden_field(&html, "csrf_token")),
            ],
        )
        .await;

    // Assert
    assert_eq!(forged.status(), 403);
    assert_eq!(confirmed.status(), 200);
    assert!(
        confirmed
            .text()
            .await
            .unwrap()
            .contains("You are signed out")
    );
    let after = app
        .get(
            &AuthRequest::new("spa", SPA)
                .with("prompt", "none")
                .url(&app),
        )
        .await;
    assert_eq!(
        query_param(&location(&after), "error").as_deref(),
        Some("login_required")
    );
}
