//! What every HTML page shares: security headers, the shared error and
//! message pages, CSRF tokens (a random cookie echoed in a hidden field) and
//! the session cookie.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder};
use askama::Template;
use subtle::ConstantTimeEq;

use crate::domain::secret;

use super::form::{Params, read_form};

/// Names the browser session.
pub const SESSION_COOKIE: &str = "tessera_session";
/// Holds the CSRF token that forms must echo.
pub const CSRF_COOKIE: &str = "tessera_csrf";

/// No inline script or style, no framing, no referrer, no sniffing. Script
/// only from this server's own files (the passkey ceremonies), which talk
/// only to this server.
const CSP: &str = "default-src 'none'; script-src 'self'; connect-src 'self'; \
                   style-src 'self'; img-src 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Starts an HTML response with the security headers every page carries.
pub fn html(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, CSP))
        .insert_header((header::X_FRAME_OPTIONS, "DENY"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

/// Renders a template into a response, or a bare 500 if rendering fails.
pub fn render(
    status: StatusCode,
    page: &impl Template,
    cookies: Vec<Cookie<'static>>,
) -> HttpResponse {
    match page.render() {
        Ok(body) => {
            let mut b = html(status);
            for c in cookies {
                b.cookie(c);
            }
            b.body(body)
        }
        Err(e) => {
            log::error!("template rendering failed: {e}");
            html(StatusCode::INTERNAL_SERVER_ERROR).body("Internal server error")
        }
    }
}

/// The shared error page.
#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// The shared message page.
#[derive(Template)]
#[template(path = "message.html")]
pub struct MessagePage<'a> {
    pub title: &'a str,
    pub message: &'a str,
}

/// An error page with a status.
pub fn error_page(status: StatusCode, title: &str, message: &str) -> HttpResponse {
    render(status, &ErrorPage { title, message }, vec![])
}

/// The generic page for failures whose detail only the log should see.
pub fn internal_error_page(e: impl std::fmt::Display) -> HttpResponse {
    log::error!("internal error: {e}");
    error_page(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The server could not complete the request. Try again shortly.",
    )
}

/// A cookie with the flags every Tessera cookie carries.
fn base_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .secure(secure)
        .finish()
}

/// The CSRF token for a form: the browser's existing one, or a new one with
/// the cookie that carries it.
pub fn csrf_token(req: &HttpRequest, secure: bool) -> (String, Option<Cookie<'static>>) {
    if let Some(c) = req.cookie(CSRF_COOKIE).filter(|c| c.value().len() == 43) {
        return (c.value().to_owned(), None);
    }
    let token = secret::generate_token();
    let mut cookie = base_cookie(CSRF_COOKIE, token.clone(), secure);
    cookie.set_same_site(SameSite::Strict);
    (token, Some(cookie))
}

/// A page's submitted form, once it proved it came from this site's own
/// page (the CSRF token); otherwise the error page to answer with, saying
/// `expired` when the token is wrong.
pub async fn read_page_form(
    req: &HttpRequest,
    body: actix_web::web::Payload,
    expired: &str,
) -> Result<Params, HttpResponse> {
    let form = read_form(req, body)
        .await
        .map_err(|e| error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()))?;
    if !csrf_ok(req, form.get("csrf_token")) {
        return Err(error_page(StatusCode::FORBIDDEN, "Form expired", expired));
    }
    Ok(form)
}

/// True when the form echoes the browser's CSRF cookie (constant time).
pub fn csrf_ok(req: &HttpRequest, submitted: Option<&str>) -> bool {
    match (req.cookie(CSRF_COOKIE), submitted) {
        (Some(c), Some(s)) if c.value().len() == 43 => {
            c.value().as_bytes().ct_eq(s.as_bytes()).into()
        }
        _ => false,
    }
}

/// The session cookie: HttpOnly, SameSite=Lax so the redirect back from a
/// client still carries it, Secure when the issuer is https.
pub fn session_cookie(value: String, secure: bool, max_age: i64) -> Cookie<'static> {
    let mut c = base_cookie(SESSION_COOKIE, value, secure);
    c.set_same_site(SameSite::Lax);
    c.set_max_age(CookieDuration::seconds(max_age));
    c
}

/// A cookie that deletes the session cookie.
pub fn clear_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie(String::new(), secure, 0);
    c.make_removal();
    c
}

/// The browser's session cookie value, if any.
pub fn session_value(req: &HttpRequest) -> Option<String> {
    req.cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| !v.is_empty())
}

/// The peer address (proxy headers are not trusted).
pub fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The User-Agent header, if readable.
pub fn user_agent(req: &HttpRequest) -> String {
    req.headers()
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

/// A redirect (302 for GET flows, 303 after a form POST).
pub fn redirect(status: StatusCode, location: &str) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::REFERRER_POLICY, "no-referrer"));
    b
}
