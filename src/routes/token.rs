//! `POST /token` (RFC 6749 §3.2): reads the form and client credentials,
//! hands the grant to its flow, and returns a no-store JSON response.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::client::{self, Client};
use crate::domain::error::OAuthError;
use crate::domain::flows::authorization_code::{self, CodeRedemption};
use crate::domain::flows::{client_credentials, refresh};
use crate::state::AppState;

use super::client_auth;
use super::form::{client_credentials as read_client, read_form};
use super::responses::no_store_json;

/// Handles a token request.
pub async fn token_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let params = read_form(&req, payload).await?;
    let grant_type = params.require("grant_type")?.to_owned();
    let creds = read_client(&req, &params)?.ok_or(OAuthError::InvalidClient)?;
    let creds = client_auth::prove(&state, creds, "/token").await?;
    let keys = state.keys.clone();
    let policy = state.settings.token_policy();
    let now = state.clock.now();
    let response = match grant_type.as_str() {
        "client_credentials" => {
            let client = registered_client(&state, creds.client_id(), now).await?;
            // The signature (about 1 ms of CPU) is made on this worker thread:
            // actix runs one per core, so signers never outnumber cores and
            // no request pays for hand-offs to the blocking pool and back.
            client_credentials::exchange(
                &keys,
                &policy,
                client.as_deref(),
                &creds,
                params.get("scope"),
                now,
            )?
        }
        "authorization_code" => {
            let redemption = CodeRedemption {
                code: params.require("code")?.to_owned(),
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                code_verifier: params.get("code_verifier").map(str::to_owned),
            };
            let refresh = state.settings.refresh_policy();
            crate::db::run(&state.pool, move |conn| {
                authorization_code::exchange(
                    conn,
                    &keys,
                    &policy,
                    &refresh,
                    &creds,
                    &redemption,
                    now,
                )
            })
            .await?
        }
        "refresh_token" => {
            let presented = params.require("refresh_token")?.to_owned();
            let scope = params.get("scope").map(str::to_owned);
            let refresh = state.settings.refresh_policy();
            let rotation = state.rotation.clone();
            crate::db::run(&state.pool, move |conn| {
                refresh::exchange(
                    conn,
                    &keys,
                    &policy,
                    &refresh,
                    &rotation,
                    &creds,
                    &presented,
                    scope.as_deref(),
                    now,
                )
            })
            .await?
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    crate::metrics::token_issued(&grant_type);
    Ok(no_store_json(&response))
}

/// The registration of `client_id`, from the cache or else the database.
async fn registered_client(
    state: &AppState,
    client_id: &str,
    now: i64,
) -> Result<Option<Arc<Client>>, OAuthError> {
    if let Some(client) = state.clients.get(client_id, now) {
        return Ok(Some(client));
    }
    let ticket = state.clients.begin_read();
    let id = client_id.to_owned();
    let found = crate::db::run(&state.pool, move |conn| client::find_client(conn, &id))
        .await?
        .map(Arc::new);
    state.clients.put(client_id, found.as_ref(), ticket, now);
    Ok(found)
}
