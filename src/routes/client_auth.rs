//! Turns a presented `private_key_jwt` assertion into proven credentials
//! before an endpoint authenticates the client: the client's keys (stored,
//! or fetched from its `jwks_uri`), the checks, then the `jti` recorded in
//! the database so a replay fails on every instance.

use actix_web::HttpRequest;
use actix_web::web::Payload;

use crate::domain::client::assertion::{self, AssertionError, Expected};
use crate::domain::client::{self, ClientCredentials, ClientKeys};
use crate::domain::error::OAuthError;
use crate::state::AppState;

use super::form::{Params, client_credentials, read_form};

/// Reads a form body and the client credentials it (or the `Authorization`
/// header) carries, an assertion already proven: the start of every
/// endpoint at `path` where clients authenticate.
pub async fn read_client_form(
    state: &AppState,
    req: &HttpRequest,
    payload: Payload,
    path: &str,
) -> Result<(Params, ClientCredentials), OAuthError> {
    let params = read_form(req, payload).await?;
    let creds = client_credentials(req, &params)?.ok_or(OAuthError::InvalidClient)?;
    Ok((params, prove(state, creds, path).await?))
}

/// `creds` as the endpoint at `path` should authenticate them: unchanged,
/// unless they are an assertion, which is checked and becomes proof.
pub async fn prove(
    state: &AppState,
    creds: ClientCredentials,
    path: &str,
) -> Result<ClientCredentials, OAuthError> {
    let ClientCredentials::Assertion {
        client_id,
        assertion,
    } = creds
    else {
        return Ok(creds);
    };
    let id = client_id.clone();
    let client = crate::db::run(&state.pool, move |conn| client::find_client(conn, &id)).await?;
    let refused = |why: &dyn std::fmt::Display| {
        log::info!("client assertion refused for client {client_id:?}: {why}");
        OAuthError::InvalidClient
    };
    let Some(keys) = client.and_then(|c| c.keys) else {
        return Err(refused(&"not a private_key_jwt client"));
    };
    let issuer = &state.settings.issuer;
    let audiences = [
        issuer.clone(),
        format!("{issuer}/token"),
        format!("{issuer}{path}"),
    ];
    let now = state.clock.now();
    let expected = Expected {
        client_id: &client_id,
        audiences: &audiences,
        now,
    };
    let checked = match &keys {
        ClientKeys::Set(set) => assertion::check(set, &assertion, &expected),
        ClientKeys::Uri(uri) => {
            let set = state
                .remote_keys
                .get(uri, false, now)
                .await
                .map_err(|e| refused(&e))?;
            match assertion::check(&set, &assertion, &expected) {
                // The client may have rotated: fetch again, once.
                Err(AssertionError::UnknownKey) => {
                    let set = state
                        .remote_keys
                        .get(uri, true, now)
                        .await
                        .map_err(|e| refused(&e))?;
                    assertion::check(&set, &assertion, &expected)
                }
                other => other,
            }
        }
    }
    .map_err(|e| refused(&e))?;
    let id = client_id.clone();
    let proven = crate::db::run(&state.pool, move |conn| {
        Ok::<_, OAuthError>(assertion::record(conn, &id, &checked)?)
    })
    .await?;
    proven
        .map(ClientCredentials::Proven)
        .ok_or_else(|| refused(&"its jti was already used"))
}
