//! `GET /metrics`: Prometheus text format, only with
//! `Authorization: Bearer <metrics_token>`; without a configured token the
//! route does not exist (404), so it is never open by accident.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use subtle::ConstantTimeEq;

use crate::domain::error::OAuthError;
use crate::metrics::{self, Snapshot};
use crate::state::AppState;

use super::responses;

/// Answers the scrape.
pub async fn metrics_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    let expected = state.settings.metrics_token.as_bytes();
    if expected.is_empty() {
        return responses::not_found().await;
    }
    let presented = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if !bool::from(presented.as_bytes().ct_eq(expected)) {
        return Ok(HttpResponse::Unauthorized()
            .insert_header((header::WWW_AUTHENTICATE, "Bearer"))
            .finish());
    }
    let pool = state.pool.state();
    let feed_entries = crate::db::run(&state.pool, |conn| {
        crate::db::count_rows(conn, "revocation_events").map_err(OAuthError::from)
    })
    .await
    .ok();
    let snapshot = Snapshot {
        pool_in_use: pool.connections - pool.idle_connections,
        pool_idle: pool.idle_connections,
        feed_entries,
        key_age: state.keys.active_key_age(state.clock.now()),
    };
    let text =
        metrics::render(snapshot).map_err(|e| OAuthError::internal(std::io::Error::other(e)))?;
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
