//! `POST /token` (RFC 6749 §3.2): reads the form and client credentials,
//! hands the grant to its flow, and returns a no-store JSON response.

use std::sync::Arc;

use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::client::{self, Client};
use crate::domain::dpop::Proof;
use crate::domain::error::OAuthError;
use crate::domain::flows::authorization_code::{self, CodeRedemption};
use crate::domain::flows::{client_credentials, refresh};
use crate::state::AppState;

use super::form::{client_credentials as read_client, read_form};
use super::responses::no_store_json;
use super::{client_auth, dpop};

/// Handles a token request.
pub async fn token_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let params = read_form(&req, payload).await?;
    let grant_type = params.require("grant_type")?.to_owned();
    let creds = read_client(&req, &params)?.ok_or(OAuthError::InvalidClient)?;
    let now = state.clock.now();
    let client = registered_client(&state, creds.client_id(), now).await?;
    let dpop_bound = client.as_ref().is_some_and(|c| c.dpop_bound);
    // Checked before an assertion is spent (a client asked for a nonce
    // retries with the same one), recorded only once the client is known.
    let proof = token_proof(&state, &req, dpop_bound)?;
    let creds = client_auth::prove(&state, creds, "/token").await?;
    let mut recording = match &proof {
        Some(p) => {
            client::check_credentials(client.as_deref(), &creds)?;
            Some(state.proofs.submit(p)?)
        }
        None => None,
    };
    // A grant that spends a code or a refresh token waits until the proof
    // is known to be new; client_credentials spends nothing and signs
    // meanwhile, and its token goes out only once the proof is.
    if grant_type != "client_credentials"
        && let Some(r) = recording.take()
    {
        dpop::recorded(r).await?;
    }
    let dpop_jkt = proof.map(|p| p.jkt);
    let keys = state.keys.clone();
    let policy = state.settings.token_policy();
    let response = match grant_type.as_str() {
        "client_credentials" => {
            // The signature (about 1 ms of CPU) is made on this worker thread:
            // actix runs one per core, so signers never outnumber cores and
            // no request pays for hand-offs to the blocking pool and back.
            client_credentials::exchange(
                &keys,
                &policy,
                client.as_deref(),
                &creds,
                params.get("scope"),
                dpop_jkt.as_deref(),
                now,
            )?
        }
        "authorization_code" => {
            let redemption = CodeRedemption {
                code: params.require("code")?.to_owned(),
                redirect_uri: params.get("redirect_uri").map(str::to_owned),
                code_verifier: params.get("code_verifier").map(str::to_owned),
                dpop_jkt,
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
                    dpop_jkt.as_deref(),
                    now,
                )
            })
            .await?
        }
        _ => return Err(OAuthError::UnsupportedGrantType),
    };
    if let Some(r) = recording {
        dpop::recorded(r).await?;
    }
    crate::metrics::token_issued(&grant_type);
    let mut res = no_store_json(&response);
    if dpop_bound {
        // The nonce for the client's next proof (RFC 9449 §8.2).
        let nonce = dpop::current_nonce(&state);
        if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&nonce) {
            res.headers_mut().insert(
                actix_web::http::header::HeaderName::from_static(dpop::NONCE_HEADER_LOWER),
                v,
            );
        }
    }
    Ok(res)
}

/// The proof of a token request, if any, checked but not yet recorded. A
/// proof binds the tokens to its key whatever the grant (RFC 9449 §5); a
/// DPoP-bound client must send one, carrying a server nonce (§8).
fn token_proof(
    state: &AppState,
    req: &HttpRequest,
    dpop_bound: bool,
) -> Result<Option<Proof>, OAuthError> {
    match dpop::proof_header(req)? {
        Some(proof) => {
            let expect = dpop::Expect {
                access_token: None,
                nonce: dpop_bound,
            };
            Ok(Some(dpop::check(state, req, &proof, "/token", expect)?))
        }
        None if dpop_bound => Err(OAuthError::InvalidDpopProof(
            "this client's tokens must be DPoP-bound: send a DPoP proof".into(),
        )),
        None => Ok(None),
    }
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
