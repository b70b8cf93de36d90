//! `POST /par` (RFC 9126): a client pushes its authorization request over
//! the back channel, authenticating as at `/token`, and gets a
//! `request_uri` to send the browser to `/authorize` with.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::domain::client::authenticate_client;
use crate::domain::error::OAuthError;
use crate::domain::pushed_request;
use crate::state::AppState;

use super::client_auth;

#[derive(Serialize)]
struct PushedResponse {
    request_uri: String,
    expires_in: i64,
}

/// Handles a pushed authorization request.
pub async fn par_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (params, creds) = client_auth::read_client_form(&state, &req, payload, "/par").await?;
    let form = params.as_map().clone();
    let now = state.clock.now();
    let pushed = crate::db::run(&state.pool, move |conn| {
        let client = authenticate_client(conn, &creds)?;
        pushed_request::push(conn, &client, &form, now)
    })
    .await?;
    Ok(HttpResponse::build(StatusCode::CREATED)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(PushedResponse {
            request_uri: pushed.request_uri,
            expires_in: pushed.expires_in,
        }))
}
