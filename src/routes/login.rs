//! The sign-in page: `GET /login` and `POST /login`. On success a session
//! starts and the browser returns to the authorization request it came from.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::error::OAuthError;
use crate::domain::login::{self, SignInFailure};
use crate::domain::{pushed_request, session};
use crate::state::AppState;

use super::form::{Params, read_form};
use super::pages::{
    MessagePage, client_ip, csrf_ok, csrf_token, error_page, internal_error_page, redirect, render,
    session_cookie, user_agent,
};

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage<'a> {
    client_name: Option<&'a str>,
    error: Option<&'a str>,
    username: &'a str,
    csrf_token: &'a str,
    return_to: &'a str,
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
    };
    render(status, &page, cookie.into_iter().collect())
}

/// `GET /login`: the form on its own, optionally returning to an admin page.
pub async fn login_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let return_to = Params::parse(req.query_string().as_bytes())
        .ok()
        .and_then(|p| p.get("return_to").map(str::to_owned))
        .filter(|r| admin_path(r).is_some())
        .unwrap_or_default();
    render_login(&state, &req, StatusCode::OK, None, "", None, &return_to)
}

/// A local admin path, never another site (no `//`, `\\` or control characters).
fn admin_path(p: &str) -> Option<&str> {
    let safe = (p == "/admin" || p.starts_with("/admin/") || p.starts_with("/admin?"))
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
    let form = match read_form(&req, body).await {
        Ok(f) => f,
        Err(e) => return error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()),
    };
    if !csrf_ok(&req, form.get("csrf_token")) {
        return error_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "The sign-in form expired or was not sent from this site. Go back and try again.",
        );
    }
    let username = form.get("username").unwrap_or("").to_owned();
    let password = form.get("password").unwrap_or("").to_owned();
    let return_to = form.get("return_to").unwrap_or("").to_owned();
    let (ip, agent) = (client_ip(&req), user_agent(&req));
    let policy = state.settings.session_policy();
    let now = state.clock.now();
    let name = username.clone();
    let request = Params::parse(return_to.as_bytes()).unwrap_or_default();
    let outcome = crate::db::run(&state.pool, move |conn| {
        let user = match login::sign_in(conn, &name, &password, &ip, now)? {
            Ok(u) => u,
            Err(f) => return Ok::<_, OAuthError>(Err(f)),
        };
        let started = session::start_session(conn, &policy, user.id, &ip, &agent, now)?;
        pushed_request::record_sign_in(conn, request.as_map(), started.session.id)?;
        Ok(Ok(started))
    })
    .await;
    let secure = state.settings.is_https();
    match outcome {
        Ok(Ok(started)) => {
            let cookie = session_cookie(started.cookie_value, secure, state.settings.session_ttl);
            match continue_to(&return_to) {
                Some(location) => redirect(StatusCode::SEE_OTHER, &location)
                    .cookie(cookie)
                    .finish(),
                None => render(
                    StatusCode::OK,
                    &MessagePage {
                        title: "Signed in",
                        message: "You are signed in to Tessera.",
                    },
                    vec![cookie],
                ),
            }
        }
        Ok(Err(SignInFailure::Invalid)) => render_login(
            &state,
            &req,
            StatusCode::UNAUTHORIZED,
            None,
            &username,
            Some("Incorrect username or password."),
            &return_to,
        ),
        Ok(Err(SignInFailure::Throttled { retry_after })) => {
            let message = format!(
                "Too many failed sign-in attempts. Try again in {} seconds.",
                retry_after
            );
            render_login(
                &state,
                &req,
                StatusCode::TOO_MANY_REQUESTS,
                None,
                &username,
                Some(&message),
                &return_to,
            )
        }
        Err(e) => internal_error_page(e),
    }
}

/// Where to go after signing in: back to `/authorize` with the original
/// request, minus `prompt=login`, which the sign-in just satisfied.
fn continue_to(return_to: &str) -> Option<String> {
    if return_to.is_empty() {
        return None;
    }
    if return_to.starts_with('/') {
        return admin_path(return_to).map(str::to_owned);
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
    }
}
