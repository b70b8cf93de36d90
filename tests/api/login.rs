//! The sign-in lock at its boundary: the fifth failure for a username (the
//! twentieth from an address) locks it, so the next attempt is refused even
//! with the right password; one failure fewer does not.

use reqwest::StatusCode;

use crate::authorize::{AuthRequest, PASSWORD, SPA, app_with_spa};
use crate::helpers::TestApp;

impl TestApp {
    /// The sign-in page of a fresh authorization request.
    async fn login_page(&self) -> String {
        let res = self.get(&AuthRequest::new("spa", SPA).url(self)).await;
        assert_eq!(res.status(), 200);
        res.text().await.unwrap()
    }

    /// Submits `n` wrong passwords for `username`; returns their statuses.
    async fn fail(&self, page: &str, username: &str, n: usize) -> Vec<StatusCode> {
        let mut statuses = Vec::new();
        for _ in 0..n {
            let res = self.submit_login(page, username, "wrong password").await;
            statuses.push(res.status());
        }
        statuses
    }
}

#[tokio::test]
async fn four_wrong_passwords_then_the_right_one_signs_in() {
    // Arrange
    let app = app_with_spa().await;
    let page = app.login_page().await;

    // Act
    let wrong = app.fail(&page, "alice", 4).await;
    let right = app.submit_login(&page, "alice", PASSWORD).await;

    // Assert
    assert!(wrong.iter().all(|s| *s == 401), "{wrong:?}");
    assert_eq!(right.status(), 303);
}

#[tokio::test]
async fn five_wrong_passwords_lock_the_username_even_for_the_right_one() {
    // Arrange
    let app = app_with_spa().await;
    let page = app.login_page().await;

    // Act
    let wrong = app.fail(&page, "alice", 5).await;
    let right = app.submit_login(&page, "alice", PASSWORD).await;

    // Assert: the fifth failure already answers with the lock.
    assert!(wrong[..4].iter().all(|s| *s == 401), "{wrong:?}");
    assert_eq!(wrong[4], 429);
    assert_eq!(right.status(), 429);
    assert!(
        right
            .text()
            .await
            .unwrap()
            .contains("Too many failed sign-in attempts")
    );
    // The lock lasts 30 seconds (checked with a margin: real seconds pass
    // too while a loaded machine runs the test).
    app.clock.advance(25);
    assert_eq!(
        app.submit_login(&page, "alice", PASSWORD).await.status(),
        429
    );
    app.clock.advance(6);
    assert_eq!(
        app.submit_login(&page, "alice", PASSWORD).await.status(),
        303
    );
}

/// Failures from this address spread over usernames that never reach their
/// own lock (at most four each).
async fn fail_from_one_address(app: &TestApp, page: &str, n: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for i in 0..n {
        statuses.extend(app.fail(page, &format!("guess{}", i / 4), 1).await);
    }
    statuses
}

#[tokio::test]
async fn nineteen_failures_from_one_address_then_the_right_password_signs_in() {
    // Arrange
    let app = app_with_spa().await;
    let page = app.login_page().await;

    // Act
    let wrong = fail_from_one_address(&app, &page, 19).await;
    let right = app.submit_login(&page, "alice", PASSWORD).await;

    // Assert
    assert!(wrong.iter().all(|s| *s == 401), "{wrong:?}");
    assert_eq!(right.status(), 303);
}

#[tokio::test]
async fn twenty_failures_from_one_address_lock_it_even_for_the_right_password() {
    // Arrange
    let app = app_with_spa().await;
    let page = app.login_page().await;

    // Act
    let wrong = fail_from_one_address(&app, &page, 20).await;
    let right = app.submit_login(&page, "alice", PASSWORD).await;

    // Assert
    assert!(wrong[..19].iter().all(|s| *s == 401), "{wrong:?}");
    assert_eq!(wrong[19], 429);
    assert_eq!(right.status(), 429);
    app.clock.advance(30);
    assert_eq!(
        app.submit_login(&page, "alice", PASSWORD).await.status(),
        303
    );
}
