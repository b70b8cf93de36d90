//! `GET /healthz` (liveness: the server is up and its database answers) and
//! `GET /readyz` (readiness: this instance can serve and is not shutting down).

use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::domain::error::OAuthError;
use crate::state::AppState;

/// Answers 200 when a database round trip succeeds.
pub async fn healthz_get(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    crate::db::run(&state.pool, |conn| {
        crate::db::ping(conn).map_err(OAuthError::from)
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "status": "ok" })))
}

/// Answers 200 when the database answers with every migration applied and
/// a signing key is active; 503 with the reason otherwise, and from the
/// start of a shutdown, so a load balancer sends new requests elsewhere.
pub async fn readyz_get(state: web::Data<AppState>) -> HttpResponse {
    let not_ready = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .insert_header(("Cache-Control", "no-store"))
            .json(json!({ "status": "not ready", "reason": reason }))
    };
    if state.stopping.is_set() {
        return not_ready("shutting down");
    }
    let migrated = crate::db::run(&state.pool, |conn| {
        crate::db::is_migrated(conn).map_err(OAuthError::from)
    })
    .await;
    match migrated {
        Ok(true) => {}
        Ok(false) => return not_ready("database migrations pending"),
        Err(_) => return not_ready("database unavailable"),
    }
    if !state.keys.can_sign(state.clock.now()) {
        return not_ready("no active signing key");
    }
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .json(json!({ "status": "ready" }))
}
