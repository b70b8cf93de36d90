//! The sign-in page: `GET /login` and `POST /login`. On success a session
//! starts and the browser returns to the authorization request it came from.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::users::UserRow;
use crate::domain::error::OAuthError;
use crate::domain::login::{self, SignIn, SignInFailure};
use crate::domain::mfa::{self, TotpEnrolment};
use crate::domain::pushed_request;
use crate::domain::session::NewBrowserSession;
use crate::state::AppState;

use super::form::Params;
use super::pages::{
    MessagePage, client_ip, csrf_token, internal_error_page, read_page_form, redirect, render,
    session_cookie, user_agent,
};
use super::second_factor;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    client_name: Option<&'a str>,
    error: Option<&'a str>,
    username: &'a str,
    csrf_token: &'a str,
    return_to: &'a str,
    /// "Sign in with a passkey" (only where the issuer allows WebAuthn).
    passkeys: bool,
}

/// Renders the sign-in form. `return_to` is the authorization request's
/// query string; the form only ever returns to `/authorize`.
pub fn render_login(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    client_name: Option<&str>,
    username: &str,
    error: Option<&str>,
    return_to: &str,
) -> HttpResponse {
    let (token, cookie) = csrf_token(req, state.settings.is_https());
    let page = LoginPage {
        client_name,
        error,
        username,
        csrf_token: &token,
        return_to,
        passkeys: state.passkeys.is_some(),
    };
    render(status, &page, cookie.into_iter().collect())
}

/// `GET /login`: the form on its own, optionally returning to an admin page.
pub async fn login_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let return_to = Params::parse(req.query_string().as_bytes())
        .ok()
        .and_then(|p| p.get("return_to").map(str::to_owned))
        .filter(|r| own_page(r).is_some())
        .unwrap_or_default();
    render_login(&state, &req, StatusCode::OK, None, "", None, &return_to)
}

/// A path of the console or the account page, never another site (no
/// `//`, `\\` or control characters).
fn own_page(p: &str) -> Option<&str> {
    let under = |root: &str| {
        p == root
            || p.strip_prefix(root)
                .is_some_and(|rest| rest.starts_with('/') || rest.starts_with('?'))
    };
    let safe = (under("/admin") || under("/account"))
        && !p.contains("//")
        && !p.contains('\\')
        && !p.chars().any(char::is_control);
    safe.then_some(p)
}

/// `POST /login`: checks the CSRF token and the credentials.
pub async fn login_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let form = match read_page_form(&req, body, SIGN_IN_FORM_EXPIRED).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let username = form.get("username").unwrap_or("").to_owned();
    let password = form.get("password").unwrap_or("").to_owned();
    let return_to = form.get("return_to").unwrap_or("").to_owned();
    let (ip, agent) = (client_ip(&req), user_agent(&req));
    let policy = state.settings.session_policy();
    let mfa_policy = state.settings.mfa_policy();
    let (sealer, issuer) = (state.sealer.clone(), state.settings.issuer.clone());
    let now = state.clock.now();
    let name = username.clone();
    let request = Params::parse(return_to.as_bytes()).unwrap_or_default();
    let outcome = crate::db::run(&state.pool, move |conn| {
        let user = match login::sign_in(conn, &name, &password, &ip, now)? {
            Ok(u) => u,
            Err(f) => return Ok::<_, OAuthError>(Err(f)),
        };
        if mfa::has_second_factor(conn, user.id)? {
            return Ok(Ok(AfterPassword::SecondFactor(user)));
        }
        let requested = pushed_request::requested_params(conn, request.as_map())?;
        let step_up = mfa::asks_for_two_factors(requested.get("acr_values").map(String::as_str));
        if mfa_policy.requires(&user) || step_up {
            let enrolment = mfa::enrol_totp(conn, &sealer, &user, &issuer, false, now)
                .map_err(OAuthError::internal)?;
            return Ok(Ok(AfterPassword::Enrol(user, enrolment)));
        }
        let sign_in = SignIn {
            user: &user,
            ip: &ip,
            user_agent: &agent,
            amr: mfa::AMR_PASSWORD,
        };
        let started = login::complete(conn, &policy, sign_in, request.as_map(), now)?;
        Ok(Ok(AfterPassword::SignedIn(started)))
    })
    .await;
    match outcome {
        Ok(Ok(AfterPassword::SignedIn(started))) => signed_in(&state, started, &return_to),
        Ok(Ok(AfterPassword::SecondFactor(user))) => {
            second_factor::ask_for_code(&state, &req, &user, &return_to)
        }
        Ok(Ok(AfterPassword::Enrol(user, enrolment))) => {
            second_factor::ask_to_enrol(&state, &req, &user, &enrolment, &return_to)
        }
        Ok(Err(failure)) => refused(&state, &req, &username, failure, &return_to),
        Err(e) => internal_error_page(e),
    }
}

/// What a sign-in form from elsewhere, or too old, is told.
pub(super) const SIGN_IN_FORM_EXPIRED: &str =
    "The sign-in form expired or was not sent from this site. Go back and try again.";

/// Where a correct password leads.
enum AfterPassword {
    /// No second factor needed: the session started.
    SignedIn(NewBrowserSession),
    /// The user has a second factor: ask for a code.
    SecondFactor(UserRow),
    /// The user must have one and has none: enrol it first.
    Enrol(UserRow, TotpEnrolment),
}

/// The sign-in form again, saying why it was refused.
fn refused(
    state: &AppState,
    req: &HttpRequest,
    username: &str,
    failure: SignInFailure,
    return_to: &str,
) -> HttpResponse {
    match failure {
        SignInFailure::Invalid => render_login(
            state,
            req,
            StatusCode::UNAUTHORIZED,
            None,
            username,
            Some("Incorrect username or password."),
            return_to,
        ),
        SignInFailure::Throttled { retry_after } => render_login(
            state,
            req,
            StatusCode::TOO_MANY_REQUESTS,
            None,
            username,
            Some(&throttled_message(retry_after)),
            return_to,
        ),
    }
}

/// What a locked sign-in is told.
pub(super) fn throttled_message(retry_after: i64) -> String {
    format!("Too many failed sign-in attempts. Try again in {retry_after} seconds.")
}

/// The browser of a completed sign-in gets its session cookie and goes
/// back to where it came from.
pub(super) fn signed_in(
    state: &AppState,
    started: NewBrowserSession,
    return_to: &str,
) -> HttpResponse {
    let secure = state.settings.is_https();
    let cookie = session_cookie(started.cookie_value, secure, state.settings.session_ttl);
    let done = second_factor::clear_pending_cookie(secure);
    match continue_to(return_to) {
        Some(location) => redirect(StatusCode::SEE_OTHER, &location)
            .cookie(cookie)
            .cookie(done)
            .finish(),
        None => render(
            StatusCode::OK,
            &MessagePage {
                title: "Signed in",
                message: "You are signed in to Tessera.",
            },
            vec![cookie, done],
        ),
    }
}

/// Where to go after signing in: back to `/authorize` with the original
/// request, minus `prompt=login`, which the sign-in just satisfied.
pub(super) fn continue_to(return_to: &str) -> Option<String> {
    if return_to.is_empty() {
        return None;
    }
    if return_to.starts_with('/') {
        return own_page(return_to).map(str::to_owned);
    }
    let params = Params::parse(return_to.as_bytes()).ok()?;
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    let mut pairs: Vec<(&String, &String)> = params.as_map().iter().collect();
    pairs.sort();
    for (k, v) in pairs {
        if k == "prompt" && v == "login" {
            continue;
        }
        out.append_pair(k, v);
    }
    Some(format!("/authorize?{}", out.finish()))
}

#[cfg(test)]
mod tests {
    use super::continue_to;

    #[test]
    fn sign_in_returns_to_authorize_without_prompt_login() {
        assert_eq!(
            continue_to("client_id=a&prompt=login&state=x%20y").as_deref(),
            Some("/authorize?client_id=a&state=x+y")
        );
        assert_eq!(continue_to(""), None);
        assert_eq!(continue_to("a=1&a=2"), None);
        assert_eq!(
            continue_to("/admin/users?q=a").as_deref(),
            Some("/admin/users?q=a")
        );
        assert_eq!(continue_to("//evil.example/admin"), None);
        assert_eq!(continue_to("/admin//evil.example"), None);
        assert_eq!(continue_to("/elsewhere"), None);
        assert_eq!(continue_to("/account").as_deref(), Some("/account"));
        assert_eq!(continue_to("/accounts"), None);
    }
}
