//! The admin console under `/admin`: server-rendered pages that work without
//! JavaScript. Every page needs a signed-in admin; every change is a POST
//! carrying a CSRF token bound to the session and passing a same-origin check.

pub mod audit;
pub mod clients;
pub mod keys;
pub mod sessions;
pub mod users;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use askama::Template;
use futures_util::future::LocalBoxFuture;
use subtle::ConstantTimeEq;

use crate::domain::audit::Actor;
use crate::domain::error::OAuthError;
use crate::domain::session::{self, ActiveSession};
use crate::state::AppState;

use super::form::{Params, read_form};
use super::pages::{client_ip, error_page, html, internal_error_page, redirect, session_value};

/// Credential-changing actions need a sign-in at most this old.
pub const RECENT_SIGN_IN: i64 = 600;
const FLASH_COOKIE: &str = "tessera_flash";

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("", web::get().to(sessions::admin_sessions_get))
            .route("/", web::get().to(sessions::admin_sessions_get))
            .route(
                "/sessions/{id}/revoke",
                web::post().to(sessions::admin_session_revoke_post),
            )
            .route("/users", web::get().to(users::admin_users_get))
            .route("/users", web::post().to(users::admin_users_post))
            .route("/users/{username}", web::get().to(users::admin_user_get))
            .route(
                "/users/{username}/{action}",
                web::post().to(users::admin_user_action_post),
            )
            .route("/clients", web::get().to(clients::admin_clients_get))
            .route("/clients", web::post().to(clients::admin_clients_post))
            .route("/clients/{id}", web::get().to(clients::admin_client_get))
            .route("/clients/{id}", web::post().to(clients::admin_client_post))
            .route(
                "/clients/{id}/{action}",
                web::post().to(clients::admin_client_action_post),
            )
            .route("/keys", web::get().to(keys::admin_keys_get))
            .route("/keys/rotate", web::post().to(keys::admin_keys_rotate_post))
            .route("/audit", web::get().to(audit::admin_audit_get))
            .default_service(web::to(|| async {
                error_page(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no such admin page.",
                )
            })),
    );
}

/// The signed-in admin behind a request.
pub struct AdminCtx {
    pub session: ActiveSession,
    pub csrf: String,
    pub flash: Option<String>,
    pub ip: String,
    pub now: i64,
}

impl AdminCtx {
    /// The admin as an audit actor.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            name: &self.session.user.username,
            ip: &self.ip,
        }
    }

    /// True when the sign-in is fresh enough to change credentials.
    pub fn recently_signed_in(&self) -> bool {
        self.now - self.session.session.auth_time <= RECENT_SIGN_IN
    }
}

/// A handler argument: the signed-in admin, or else the sign-in redirect or
/// 403 page as the response.
impl FromRequest for AdminCtx {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            admin_ctx(&state, &req).await.map_err(as_error)
        })
    }
}

/// A handler argument for every state-changing request: the admin and the
/// form, after the origin check and the CSRF token.
pub struct AdminForm {
    pub ctx: AdminCtx,
    pub form: Params,
}

impl FromRequest for AdminForm {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let state = app_state(&req)?;
            let (ctx, form) = admin_post(&state, &req, body?).await.map_err(as_error)?;
            Ok(AdminForm { ctx, form })
        })
    }
}

fn app_state(req: &HttpRequest) -> Result<web::Data<AppState>, actix_web::Error> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| actix_web::error::ErrorInternalServerError("no application state"))
}

/// An error whose response is `res` itself.
fn as_error(res: HttpResponse) -> actix_web::Error {
    InternalError::from_response("admin request refused", res).into()
}

/// Resolves the admin for a page, or the response to send instead: a
/// redirect to the sign-in page, or 403 for a signed-in non-admin.
async fn admin_ctx(state: &AppState, req: &HttpRequest) -> Result<AdminCtx, HttpResponse> {
    let now = state.clock.now();
    let policy = state.settings.session_policy();
    let session = match session_value(req) {
        Some(c) => crate::db::run(&state.pool, move |conn| {
            session::find_active(conn, &policy, &c, now).map_err(OAuthError::from)
        })
        .await
        .map_err(internal_error_page)?,
        None => None,
    };
    let Some(session) = session else {
        let back = match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
        let enc: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        return Err(redirect(StatusCode::SEE_OTHER, &format!("/login?return_to={enc}")).finish());
    };
    if !session.user.is_admin {
        return Err(admin_headers(error_page(
            StatusCode::FORBIDDEN,
            "Forbidden",
            "Only administrators may open the admin console.",
        )));
    }
    let csrf = state
        .rotation
        .mac(&format!("admin-csrf:{}", session.session.sid));
    let flash = req
        .cookie(FLASH_COOKIE)
        .and_then(|c| {
            percent_encoding::percent_decode_str(c.value())
                .decode_utf8()
                .ok()
                .map(|s| s.into_owned())
        })
        .filter(|s| !s.is_empty());
    Ok(AdminCtx {
        session,
        csrf,
        flash,
        ip: client_ip(req),
        now,
    })
}

/// True when a POST comes from the console itself. Browsers send
/// `Sec-Fetch-Site` (or at least `Origin`) on form posts; the admin pages use
/// `Referrer-Policy: same-origin`, so `Origin` is the real origin, not `null`.
pub fn same_origin(req: &HttpRequest, issuer: &str) -> bool {
    if let Some(site) = req.headers().get("sec-fetch-site") {
        return site.as_bytes() == b"same-origin";
    }
    match req
        .headers()
        .get(header::ORIGIN)
        .and_then(|o| o.to_str().ok())
    {
        Some(origin) => {
            url::Url::parse(issuer).is_ok_and(|i| i.origin().ascii_serialization() == origin)
        }
        None => true,
    }
}

/// Checks origin, session and CSRF token for a state-changing request and
/// returns the admin with the form.
async fn admin_post(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(AdminCtx, Params), HttpResponse> {
    if !same_origin(req, &state.settings.issuer) {
        log::warn!(
            "security: cross-origin admin POST to {} refused",
            req.path()
        );
        return Err(forbidden(
            "The request did not come from the admin console.",
        ));
    }
    let form = read_form(req, body)
        .await
        .map_err(|e| error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()))?;
    let ctx = admin_ctx(state, req).await?;
    let ok: bool = form
        .get("csrf_token")
        .is_some_and(|t| t.as_bytes().ct_eq(ctx.csrf.as_bytes()).into());
    if !ok {
        log::warn!(
            "security: admin POST to {} without a valid CSRF token refused",
            req.path()
        );
        return Err(forbidden(
            "The form expired or was not sent from the admin console.",
        ));
    }
    Ok((ctx, form))
}

fn forbidden(message: &str) -> HttpResponse {
    admin_headers(error_page(StatusCode::FORBIDDEN, "Forbidden", message))
}

fn admin_headers(mut res: HttpResponse) -> HttpResponse {
    res.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("same-origin"),
    );
    res
}

/// Renders an admin page (clearing any flash it showed).
pub fn render_admin(page: &impl Template, showed_flash: bool) -> HttpResponse {
    match page.render() {
        Ok(body) => {
            let mut b = html(StatusCode::OK);
            b.insert_header((header::REFERRER_POLICY, "same-origin"));
            if showed_flash {
                b.cookie(flash_cookie(String::new(), true));
            }
            b.body(body)
        }
        Err(e) => internal_error_page(e),
    }
}

fn flash_cookie(value: String, remove: bool) -> Cookie<'static> {
    let mut c = Cookie::build(FLASH_COOKIE, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if remove {
        c.make_removal();
    }
    c
}

/// A one-time secret page (passwords and client secrets).
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub section: &'static str,
    pub admin: String,
    pub flash: Option<String>,
    pub title: &'static str,
    pub message: String,
    pub secret: String,
    pub back: String,
}

/// Shows a one-time password or client secret, once, in the POST's own
/// response (never through a cookie or a redirect).
pub fn show_secret(
    ctx: &AdminCtx,
    section: &'static str,
    title: &'static str,
    message: String,
    secret: String,
    back: String,
) -> HttpResponse {
    let page = SecretPage {
        section,
        admin: ctx.session.user.username.clone(),
        flash: None,
        title,
        message,
        secret,
        back,
    };
    render_admin(&page, false)
}

/// Redirects after a POST with a message for the next page.
pub fn done(location: &str, message: &str) -> HttpResponse {
    let enc = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    redirect(StatusCode::SEE_OTHER, location)
        .cookie(flash_cookie(enc, false))
        .finish()
}

/// Sends the admin to sign in again before a credential-changing action.
pub fn needs_fresh_sign_in(back: &str) -> HttpResponse {
    let enc: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    done(
        &format!("/login?return_to={enc}"),
        "Sign in again to do this: it needs a sign-in from the last 10 minutes.",
    )
}

/// A value percent-encoded for use as one URL path segment.
pub fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// "2026-11-25 12:03 UTC" and "3 min ago" / "in 2 h".
pub fn when(now: i64, ts: i64) -> String {
    let utc = chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_default();
    format!("{utc} ({})", ago(now, ts))
}

/// A short relative age.
pub fn ago(now: i64, ts: i64) -> String {
    let d = now - ts;
    let (n, future) = (d.abs(), d < 0);
    let span = match n {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    match (span.as_str(), future) {
        ("just now", _) => span,
        (_, true) => format!("in {span}"),
        (_, false) => format!("{span} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::ago;

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(1000, 1000), "just now");
        assert_eq!(ago(1000 + 180, 1000), "3 min ago");
        assert_eq!(ago(1000, 1000 + 7200), "in 2 h");
        assert_eq!(ago(1000 + 3 * 86_400, 1000), "3 d ago");
    }
}
