//! Input no client should send gets the same 4xx on both backends, never a
//! 5xx: what `.ci/schemathesis` found, kept as regressions.

use serde_json::Value;

use crate::helpers::spawn_app;

#[tokio::test]
async fn a_nul_character_in_a_parameter_is_an_invalid_request_on_every_backend() {
    // Arrange: PostgreSQL text cannot hold a NUL, so a client id with one
    // used to fail the client lookup there with a 500.
    let app = spawn_app().await;
    let secret = app.add_confidential_client("svc", "client_credentials", "api:read");
    let cases = [
        (
            "/token",
            "grant_type=client_credentials&client_id=a%00b&client_secret=x",
        ),
        ("/token", "grant_type=client_credentials&scope=api%00read"),
        ("/introspect", "token=abc&client_id=a%00b&client_secret=x"),
        ("/revoke", "token=abc&client_id=a%00b"),
    ];

    for (path, body) in cases {
        // Act
        let mut req = app
            .http
            .post(format!("{}{path}", app.address))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body);
        if !body.contains("client_id") {
            req = req.basic_auth("svc", Some(&secret));
        }
        let res = req.send().await.unwrap();

        // Assert
        assert_eq!(res.status(), 400, "{path} {body}");
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{path} {body}");
    }
}

#[tokio::test]
async fn a_nul_character_in_basic_credentials_is_invalid_client() {
    // Arrange
    let app = spawn_app().await;

    for (id, secret) in [("a\0b", "x"), ("a%00b", "x"), ("svc", "x\0")] {
        // Act
        let res = app
            .post_token("grant_type=client_credentials", Some((id, secret)))
            .await;

        // Assert
        assert_eq!(res.status(), 401, "{id:?}:{secret:?}");
        assert!(res.headers().contains_key("www-authenticate"));
        let error: Value = res.json().await.unwrap();
        assert_eq!(error["error"], "invalid_client");
    }
}

#[tokio::test]
async fn a_nul_character_in_a_path_is_a_bad_request_on_every_backend() {
    // Arrange: an admin signed in to the console, whose pages take names
    // from the path (PostgreSQL text cannot hold a NUL).
    let app = spawn_app().await;
    let res = app
        .console_sign_in(&app.admin_username, &app.admin_password)
        .await;
    assert_eq!(res.status(), 303);

    for path in [
        "/admin/users/a%00b",
        "/admin/clients/a%00b",
        "/jwks.json%00",
    ] {
        // Act
        let (status, _) = app.admin_page(path).await;

        // Assert
        assert_eq!(status, 400, "{path}");
    }
    // An ordinary unknown name is still sent back to the list.
    let (status, _) = app.admin_page("/admin/users/nobody").await;
    assert_eq!(status, 303);
}
