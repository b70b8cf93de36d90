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

use super::form::{client_credentials, read_form};
use super::{client_auth, dpop};

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
    let params = read_form(&req, payload).await?;
    let creds = client_credentials(&req, &params)?.ok_or(OAuthError::InvalidClient)?;
    let mut form = params.as_map().clone();
    // A proof sent with the push binds the code to its key, as dpop_jkt
    // does (RFC 9449 §10.1). Checked before an assertion is spent, recorded
    // once the client is known.
    let proof = match dpop::proof_header(&req)? {
        Some(p) => Some(dpop::check(
            &state,
            &req,
            &p,
            "/par",
            dpop::Expect::default(),
        )?),
        None => None,
    };
    let creds = client_auth::prove(&state, creds, "/par").await?;
    let now = state.clock.now();
    let client = crate::db::run(&state.pool, move |conn| authenticate_client(conn, &creds)).await?;
    if let Some(p) = &proof {
        if form
            .get("dpop_jkt")
            .is_some_and(|named| !named.is_empty() && *named != p.jkt)
        {
            return Err(OAuthError::InvalidDpopProof(
                "dpop_jkt names another key than the DPoP proof".into(),
            ));
        }
        dpop::record(&state, p).await?;
        form.insert("dpop_jkt".into(), p.jkt.clone());
    }
    let pushed = crate::db::run(&state.pool, move |conn| {
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
