//! `GET /healthz`: the server is up and its database answers.

use actix_web::{HttpResponse, web};

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
        .json(serde_json::json!({ "status": "ok" })))
}
