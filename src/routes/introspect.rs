//! `POST /introspect` (RFC 7662) for authenticated confidential clients
//! (resource servers).

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::client::authenticate_client;
use crate::domain::error::OAuthError;
use crate::domain::introspection;
use crate::state::AppState;

use super::client_auth;
use super::responses::no_store_json;

/// Handles an introspection request.
pub async fn introspect_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (params, creds) =
        client_auth::read_client_form(&state, &req, payload, "/introspect").await?;
    let token = params.require("token")?.to_owned();
    let keys = state.keys.clone();
    let policy = state.settings.token_policy();
    let now = state.clock.now();
    let body = crate::db::run(&state.pool, move |conn| {
        let client = authenticate_client(conn, &creds)?;
        if client.is_public() {
            return Err(OAuthError::InvalidClient);
        }
        Ok(introspection::introspect(
            conn, &keys, &policy, &token, now,
        )?)
    })
    .await?;
    Ok(no_store_json(&body))
}
