//! `POST /token` (RFC 6749 §3.2): reads the form and client credentials,
//! hands the grant to its flow, and returns a no-store JSON response.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::error::OAuthError;
use crate::domain::flows::client_credentials;
use crate::state::AppState;

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
    let creds = read_client(&req, &params)?;
    match grant_type.as_str() {
        "client_credentials" => {
            let creds = creds.ok_or(OAuthError::InvalidClient)?;
            let scope = params.get("scope").map(str::to_owned);
            let keys = state.keys.clone();
            let policy = state.settings.access_token_policy();
            let now = state.clock.now();
            let response = crate::db::run(&state.pool, move |conn| {
                client_credentials::exchange(conn, &keys, &policy, &creds, scope.as_deref(), now)
            })
            .await?;
            Ok(no_store_json(&response))
        }
        _ => Err(OAuthError::UnsupportedGrantType),
    }
}
