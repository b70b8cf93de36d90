//! `GET /revocations`: the revocation feed for offline verifiers. An
//! authenticated confidential client polls with `after=<cursor>` and gets the
//! session ids and access-token ids revoked since, each with the time after
//! which it no longer matters. `GET` takes HTTP Basic only (no credential
//! in a URL); `POST` takes the same parameters as a form, with any client
//! authentication `/token` takes, `private_key_jwt` included.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::domain::client::{ClientCredentials, authenticate_client};
use crate::domain::error::OAuthError;
use crate::domain::revocation;
use crate::state::AppState;

use super::client_auth;
use super::form::{Params, client_credentials};
use super::responses::no_store_json;

/// Most entries in one page.
const MAX_PAGE: i64 = 1000;

#[derive(Serialize)]
struct Entry {
    cursor: i32,
    #[serde(rename = "type")]
    kind: String,
    value: String,
    relevant_until: i64,
}

#[derive(Serialize)]
struct Page {
    entries: Vec<Entry>,
    next_cursor: i32,
}

/// Serves one page of the feed, the client authenticated with HTTP Basic.
pub async fn revocations_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(req.query_string().as_bytes())?;
    let creds = client_credentials(&req, &Params::default())?.ok_or(OAuthError::InvalidClient)?;
    page(&state, params, creds).await
}

/// Serves one page of the feed, the parameters and any client
/// authentication in a form body.
pub async fn revocations_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, OAuthError> {
    let (params, creds) =
        client_auth::read_client_form(&state, &req, payload, "/revocations").await?;
    page(&state, params, creds).await
}

async fn page(
    state: &AppState,
    params: Params,
    creds: ClientCredentials,
) -> Result<HttpResponse, OAuthError> {
    let after = match params.get("after") {
        None => 0,
        Some(a) => a.parse::<i32>().ok().filter(|a| *a >= 0).ok_or_else(|| {
            OAuthError::InvalidRequest("after must be a cursor from this feed".into())
        })?,
    };
    let limit = match params.get("limit") {
        None => MAX_PAGE,
        Some(l) => l
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=MAX_PAGE).contains(l))
            .ok_or_else(|| OAuthError::InvalidRequest(format!("limit must be 1-{MAX_PAGE}")))?,
    };
    let now = state.clock.now();
    let rows = crate::db::run(&state.pool, move |conn| {
        let client = authenticate_client(conn, &creds)?;
        if client.is_public() {
            return Err(OAuthError::InvalidClient);
        }
        Ok(revocation::feed(conn, after, limit, now)?)
    })
    .await?;
    let next_cursor = rows.last().map_or(after, |r| r.id);
    Ok(no_store_json(&Page {
        entries: rows
            .into_iter()
            .map(|r| Entry {
                cursor: r.id,
                kind: r.kind,
                value: r.value,
                relevant_until: r.relevant_until,
            })
            .collect(),
        next_cursor,
    }))
}
