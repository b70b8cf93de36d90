//! `POST /revoke` (RFC 7009): confidential clients authenticate, public
//! clients name themselves; the answer is 200 whether or not the token was
//! known.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::client::authenticate_client;
use crate::domain::error::OAuthError;
use crate::domain::introspection;
use crate::state::AppState;

use super::client_auth;

/// Handles a revocation request.
pub async fn revoke_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (params, creds) = client_auth::read_client_form(&state, &req, payload, "/revoke").await?;
    let token = params.require("token")?.to_owned();
    let keys = state.keys.clone();
    let policy = state.settings.token_policy();
    let now = state.clock.now();
    crate::db::run(&state.pool, move |conn| {
        let client = authenticate_client(conn, &creds)?;
        introspection::revoke(conn, &keys, &policy, &client, &token, now)?;
        Ok::<_, OAuthError>(())
    })
    .await?;
    Ok(HttpResponse::Ok()
        .insert_header(("Cache-Control", "no-store"))
        .finish())
}
