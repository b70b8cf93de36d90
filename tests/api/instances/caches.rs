//! What each instance keeps in memory (signing keys, client registrations)
//! follows changes made elsewhere within its refresh interval, and what it
//! never caches (sessions) follows at once.

use std::sync::Arc;
use std::time::Duration;

use tessera::config::Settings;

use super::{eventually, field, instances, sign_in, status_json};
use crate::authorize::hidden_field;
use crate::helpers::{TestApp, stdout_ok, verify_access_token};

/// One-second key checks and client cache, as the tests' bounds assume.
fn small_caches(s: &mut Settings) {
    s.key_check_interval = 1;
    s.client_cache_ttl = 1;
}

/// Signs the admin in on `app` (the instance that created the admin) and
/// returns a CSRF token for console forms.
async fn console(app: &TestApp) -> String {
    let res = app
        .console_sign_in(&app.admin_username, &app.admin_password)
        .await;
    assert_eq!(res.status(), 303);
    let (status, html) = app.admin_page("/admin").await;
    assert_eq!(status, 200);
    hidden_field(&html, "csrf_token")
}

/// The status of a client_credentials request with these credentials.
async fn client_credentials_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.post_token("grant_type=client_credentials", Some((id, secret)))
        .await
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_cli_key_rotation_is_published_by_every_instance_within_the_key_check_interval() {
    // Arrange
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, small_caches).await;
    assert_eq!(apps[1].jwks().await.keys.len(), 2, "one key per algorithm");

    // Act
    stdout_ok(&apps[0].cli(&["keys", "rotate"], None));

    // Assert: both publish the new key after their next key check.
    for app in &apps {
        let published = eventually(Duration::from_secs(5), || async {
            app.jwks().await.keys.len() == 4
        })
        .await;
        assert!(published.is_some(), "{} never published it", app.address);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_client_changed_in_the_console_of_one_instance_stops_working_on_another_within_the_cache_ttl()
 {
    // Arrange: B has the client's registration in its cache.
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, small_caches).await;
    let (a, b) = (&apps[0], &apps[1]);
    let old = a.add_confidential_client("svc", "client_credentials", "api:read");
    b.client_credentials_token("svc", &old).await;
    let csrf = console(a).await;
    let within = Duration::from_secs(a.settings.client_cache_ttl as u64 + 4);

    // Act: rotate the secret on A.
    let res = a
        .admin_post(
            "/admin/clients/svc/rotate-secret",
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 200);
    let page = res.text().await.unwrap();
    let start = page.find(r#"<code id="secret">"#).unwrap() + r#"<code id="secret">"#.len();
    let new = page[start..start + 43].to_owned();

    // Assert: B refuses the old secret and takes the new one, soon.
    let old_refused = eventually(within, || async {
        client_credentials_status(b, "svc", &old).await == 401
    })
    .await;
    assert!(
        old_refused.is_some(),
        "B still took the old secret after {within:?}"
    );
    let new_taken = eventually(within, || async {
        client_credentials_status(b, "svc", &new).await == 200
    })
    .await;
    assert!(new_taken.is_some(), "B never took the new secret");

    // Act: delete the client on A.
    let res = a
        .admin_post("/admin/clients/svc/delete", &[("csrf_token", &csrf)], None)
        .await;
    assert_eq!(res.status(), 303);

    // Assert
    let gone = eventually(within, || async {
        client_credentials_status(b, "svc", &new).await == 401
    })
    .await;
    assert!(gone.is_some(), "B still issued tokens after {within:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs PostgreSQL: set TESSERA_TEST_POSTGRES (.ci/run starts one)"]
async fn a_session_revoked_on_one_instance_is_refused_by_another_at_once() {
    // Arrange: alice's session, used on B.
    let db = Arc::new(crate::postgres_or_skip!());
    let apps = instances(&db, 2, small_caches).await;
    let (a, b) = (&apps[0], &apps[1]);
    let tokens = sign_in(b, "openid profile").await;
    let access = field(&tokens, "access_token");
    let issuer = &b.settings.issuer;
    let sid = field(
        &verify_access_token(&access, &b.jwks().await, issuer, issuer),
        "sid",
    );
    assert_eq!(b.userinfo(&access).await.status(), 200);
    let session = tessera::db::sessions::find_session_by_sid(&mut a.pool.get().unwrap(), &sid)
        .unwrap()
        .unwrap();
    let csrf = console(a).await;

    // Act: the admin revokes it on A.
    let res = a
        .admin_post(
            &format!("/admin/sessions/{}/revoke", session.id),
            &[("csrf_token", &csrf)],
            None,
        )
        .await;
    assert_eq!(res.status(), 303);

    // Assert: B refuses both tokens at once, without any waiting.
    assert_eq!(b.userinfo(&access).await.status(), 401);
    let refresh = status_json(b.refresh("spa", &field(&tokens, "refresh_token")).await).await;
    assert_eq!(refresh.0, 400, "{refresh:?}");
    assert_eq!(refresh.1["error"], "invalid_grant");
}
