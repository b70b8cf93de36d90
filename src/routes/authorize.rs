//! `GET /authorize` (OpenID Connect Core §3.1.2, RFC 6749 §4.1.1): validates
//! the request, then shows the sign-in or consent page, or sends the browser
//! back to the client with a code.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::authorize::{self, AuthorizeError, AuthorizeRequest, Next};
use crate::domain::error::OAuthError;
use crate::domain::session::{self, ActiveSession};
use crate::state::AppState;

use super::consent::render_consent;
use super::form::Params;
use super::login::render_login;
use super::pages::{error_page, internal_error_page, redirect, session_value};

/// Handles an authorization request.
pub async fn authorize_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = match Params::parse(req.query_string().as_bytes()) {
        Ok(p) => p,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()),
    };
    respond(&state, &req, params, req.query_string()).await
}

/// Runs an authorization request (also after sign-in and consent).
pub async fn respond(
    state: &AppState,
    req: &HttpRequest,
    params: Params,
    query: &str,
) -> HttpResponse {
    let cookie = session_value(req);
    let policy = state.settings.session_policy();
    let mfa_policy = state.settings.mfa_policy();
    let now = state.clock.now();
    let outcome = crate::db::run(&state.pool, move |conn| {
        let mut request = match authorize::validate_arrival(conn, params.as_map(), now)? {
            Ok(r) => r,
            Err(e) => return Ok::<_, OAuthError>(Err(e)),
        };
        let session = match cookie {
            Some(c) => session::find_active(conn, &policy, &c, now)?,
            None => None,
        };
        // A user who must have two factors gets them, even in a session
        // from before the requirement.
        if session
            .as_ref()
            .is_some_and(|s| mfa_policy.requires(&s.user))
        {
            request.two_factors = true;
        }
        let next = authorize::decide(conn, &request, session.as_ref(), now)?;
        Ok(next.map(|n| (request, session, n)))
    })
    .await;
    match outcome {
        Ok(Ok((request, session, next))) => next_step(state, req, request, session, next, query),
        Ok(Err(e)) => authorize_error(state, &e),
        Err(e) => internal_error_page(e),
    }
}

fn next_step(
    state: &AppState,
    req: &HttpRequest,
    request: AuthorizeRequest,
    session: Option<ActiveSession>,
    next: Next,
    query: &str,
) -> HttpResponse {
    match (next, session) {
        (Next::Code(code), _) => code_redirect(state, &request, &code),
        (Next::Consent, Some(s)) => render_consent(state, req, &request, &s, query),
        (Next::SignIn, _) | (Next::Consent, None) => render_login(
            state,
            req,
            StatusCode::OK,
            Some(&request.client.name),
            request.login_hint.as_deref().unwrap_or(""),
            None,
            query,
        ),
    }
}

/// Sends the browser back to the client with a code, its `state` and `iss`.
pub fn code_redirect(state: &AppState, request: &AuthorizeRequest, code: &str) -> HttpResponse {
    let mut pairs = vec![("code", code)];
    if let Some(s) = &request.state {
        pairs.push(("state", s.as_str()));
    }
    pairs.push(("iss", state.settings.issuer.as_str()));
    let location = authorize::redirect_url(&request.redirect_uri, &pairs);
    redirect(StatusCode::FOUND, &location).finish()
}

/// Shows or redirects an authorization error, as RFC 6749 §4.1.2.1 requires.
pub fn authorize_error(state: &AppState, e: &AuthorizeError) -> HttpResponse {
    match (e, authorize::error_redirect(e, &state.settings.issuer)) {
        (_, Some(location)) => redirect(StatusCode::FOUND, &location).finish(),
        (AuthorizeError::Page(message), None) => {
            error_page(StatusCode::BAD_REQUEST, "Invalid sign-in request", message)
        }
        (AuthorizeError::Redirect { .. }, None) => internal_error_page("unreachable redirect"),
    }
}
