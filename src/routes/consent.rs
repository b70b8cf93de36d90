//! The consent page for third-party clients: `POST /consent` records the
//! user's decision and finishes the authorization request.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::authorize::{self, AuthorizeRequest};
use crate::domain::error::OAuthError;
use crate::domain::session::{self, ActiveSession};
use crate::state::AppState;

use super::authorize::{authorize_error, code_redirect, respond};
use super::form::Params;
use super::pages::{
    csrf_token, error_page, internal_error_page, read_page_form, render, session_value,
};

#[derive(Template)]
#[template(path = "consent.html")]
struct ConsentPage<'a> {
    client_name: &'a str,
    username: &'a str,
    scopes: Vec<&'a str>,
    csrf_token: &'a str,
    return_to: &'a str,
}

/// Renders the consent page for a validated request.
pub fn render_consent(
    state: &AppState,
    req: &HttpRequest,
    request: &AuthorizeRequest,
    s: &ActiveSession,
    query: &str,
) -> HttpResponse {
    let (token, cookie) = csrf_token(req, state.settings.is_https());
    let page = ConsentPage {
        client_name: &request.client.name,
        username: &s.user.username,
        scopes: request.scope.iter().collect(),
        csrf_token: &token,
        return_to: query,
    };
    render(StatusCode::OK, &page, cookie.into_iter().collect())
}

/// Handles the user's decision.
pub async fn consent_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let form = match read_page_form(&req, body, "Go back and try again.").await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let return_to = form.get("return_to").unwrap_or("").to_owned();
    let allow = form.get("decision") == Some("allow");
    let Ok(params) = Params::parse(return_to.as_bytes()) else {
        return error_page(
            StatusCode::BAD_REQUEST,
            "Invalid request",
            "The request is malformed.",
        );
    };
    let cookie = session_value(&req);
    let policy = state.settings.session_policy();
    let now = state.clock.now();
    let map = params.as_map().clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        let request = match authorize::validate_arrival(conn, &map, now)? {
            Ok(r) => r,
            Err(e) => return Ok::<_, OAuthError>(Err(e)),
        };
        let Some(s) = cookie
            .map(|c| session::find_active(conn, &policy, &c, now))
            .transpose()?
            .flatten()
        else {
            return Ok(Ok(None));
        };
        if !allow {
            let denied = authorize::end(
                conn,
                &request,
                "access_denied",
                "the user denied access",
                now,
            )?;
            return Ok(Err(denied));
        }
        authorize::grant_consent(conn, &request, &s, now)?;
        // Straight to the code: running the request again would ask again
        // when it says prompt=consent.
        Ok(authorize::finish(conn, &request, &s, now)?.map(|code| Some((request, code))))
    })
    .await;
    match outcome {
        Ok(Ok(Some((request, code)))) => code_redirect(&state, &request, &code),
        // No session: the request again, which asks to sign in.
        Ok(Ok(None)) => respond(&state, &req, params, &return_to).await,
        Ok(Err(e)) => authorize_error(&state, &e),
        Err(e) => internal_error_page(e),
    }
}
