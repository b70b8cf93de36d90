//! `GET`/`POST /logout`, the end-session endpoint (OpenID Connect
//! RP-Initiated Logout 1.0). With a valid `id_token_hint` it signs out at
//! once; without one it asks the user to confirm (a CSRF-protected form).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::error::OAuthError;
use crate::domain::logout::{self, LogoutError, LogoutRequest};
use crate::state::AppState;

use super::form::{Params, read_form};
use super::pages::{
    MessagePage, clear_session_cookie, csrf_ok, csrf_token, error_page, internal_error_page,
    redirect, render, session_value,
};

#[derive(Template)]
#[template(path = "logout.html")]
struct ConfirmPage<'a> {
    csrf_token: &'a str,
    client_id: Option<&'a str>,
    post_logout_redirect_uri: Option<&'a str>,
    state: Option<&'a str>,
}

/// `GET /logout`.
pub async fn logout_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match Params::parse(req.query_string().as_bytes()) {
        Ok(p) => handle(&state, &req, p).await,
        Err(e) => error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()),
    }
}

/// `POST /logout`: a client's form post, or the user's confirmation.
pub async fn logout_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    match read_form(&req, body).await {
        Ok(p) => handle(&state, &req, p).await,
        Err(e) => error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()),
    }
}

async fn handle(state: &AppState, req: &HttpRequest, p: Params) -> HttpResponse {
    let confirmed = p.get("confirm") == Some("yes");
    if confirmed && !csrf_ok(req, p.get("csrf_token")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "Go back and try again.",
        );
    }
    let own = |k: &str| p.get(k).map(str::to_owned);
    let request = LogoutRequest {
        id_token_hint: own("id_token_hint"),
        client_id: own("client_id"),
        post_logout_redirect_uri: own("post_logout_redirect_uri"),
        state: own("state"),
    };
    let keys = state.keys.clone();
    let issuer = state.settings.issuer.clone();
    let policy = state.settings.session_policy();
    let cookie = session_value(req);
    let now = state.clock.now();
    let r = request.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        let plan = match logout::plan(conn, &keys, &issuer, &r, now)? {
            Ok(plan) => plan,
            Err(e) => return Ok::<_, OAuthError>(Err(e)),
        };
        if plan.hinted_sid.is_none() && !confirmed {
            return Ok(Ok((plan, false)));
        }
        logout::sign_out(conn, &policy, &plan, cookie.as_deref(), now)?;
        Ok(Ok((plan, true)))
    })
    .await;
    let secure = state.settings.is_https();
    match outcome {
        Ok(Ok((_, false))) => {
            let (token, cookie) = csrf_token(req, secure);
            let page = ConfirmPage {
                csrf_token: &token,
                client_id: request.client_id.as_deref(),
                post_logout_redirect_uri: request.post_logout_redirect_uri.as_deref(),
                state: request.state.as_deref(),
            };
            render(StatusCode::OK, &page, cookie.into_iter().collect())
        }
        Ok(Ok((plan, true))) => match plan.redirect {
            Some(location) => redirect(StatusCode::FOUND, &location)
                .cookie(clear_session_cookie(secure))
                .finish(),
            None => render(
                StatusCode::OK,
                &MessagePage {
                    title: "Signed out",
                    message: "You are signed out of Tessera.",
                },
                vec![clear_session_cookie(secure)],
            ),
        },
        Ok(Err(LogoutError::UnregisteredRedirect)) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-out request",
            "The post_logout_redirect_uri is not registered for this application.",
        ),
        Ok(Err(LogoutError::ClientMismatch)) => error_page(
            StatusCode::BAD_REQUEST,
            "Invalid sign-out request",
            "The client_id does not match the id_token_hint.",
        ),
        Err(e) => internal_error_page(e),
    }
}
