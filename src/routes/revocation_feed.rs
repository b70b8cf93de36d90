//! `GET /revocations`: the revocation feed for offline verifiers. An
//! authenticated confidential client polls with `after=<cursor>` and gets the
//! session ids and access-token ids revoked since, each with the time after
//! which it no longer matters.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::domain::client::authenticate_client;
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

/// Serves one page of the feed.
pub async fn revocations_get(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, OAuthError> {
    let params = Params::parse(req.query_string().as_bytes())?;
    // Secrets only in the Authorization header, never in a URL; a
    // single-use assertion may come in the query.
    let assertion = params.only(&["client_assertion_type", "client_assertion"]);
    let creds = client_credentials(&req, &assertion)?.ok_or(OAuthError::InvalidClient)?;
    let creds = client_auth::prove(&state, creds, "/revocations").await?;
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
