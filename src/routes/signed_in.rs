//! Who is behind a request to the signed-in pages (the admin console and a
//! user's own account page): the live session, and for a change, the
//! same-origin check and the session-bound CSRF token.

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};
use futures_util::future::LocalBoxFuture;
use subtle::ConstantTimeEq;

use crate::domain::audit::Actor;
use crate::domain::error::OAuthError;
use crate::domain::mfa;
use crate::domain::session::{self, ActiveSession};
use crate::routes::form::{Params, read_form};
use crate::routes::pages::{client_ip, error_page, internal_error_page, redirect, session_value};
use crate::state::AppState;

/// Credential-changing actions need a sign-in at most this old.
pub const RECENT_SIGN_IN: i64 = 600;
/// Carries a one-line message from a POST to the page it redirects to.
pub const FLASH_COOKIE: &str = "tessera_flash";

/// The signed-in user behind a request to a page; `ADMIN`: the admin
/// console, open to admins only.
pub struct PageCtx<const ADMIN: bool> {
    pub session: ActiveSession,
    pub csrf: String,
    pub flash: Option<String>,
    pub ip: String,
    pub now: i64,
}

/// The signed-in admin behind a console request.
pub type AdminCtx = PageCtx<true>;
/// The signed-in user behind a request to their account page.
pub type AccountCtx = PageCtx<false>;

impl<const ADMIN: bool> PageCtx<ADMIN> {
    /// The user as an audit actor.
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

/// A handler argument: the signed-in user (admin), or else the sign-in
/// redirect or 403 page as the response.
impl<const ADMIN: bool> FromRequest for PageCtx<ADMIN> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = app_state(&req)?;
            page_ctx::<ADMIN>(&state, &req).await.map_err(as_error)
        })
    }
}

/// A handler argument for every state-changing request: the user and the
/// form, after the origin check and the CSRF token.
pub struct PageForm<const ADMIN: bool> {
    pub ctx: PageCtx<ADMIN>,
    pub form: Params,
}

/// A console change.
pub type AdminForm = PageForm<true>;
/// A change on the account page.
pub type AccountForm = PageForm<false>;

impl<const ADMIN: bool> FromRequest for PageForm<ADMIN> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Payload::from_request(&req, payload).into_inner();
        Box::pin(async move {
            let state = app_state(&req)?;
            let (ctx, form) = page_post::<ADMIN>(&state, &req, body?)
                .await
                .map_err(as_error)?;
            Ok(PageForm { ctx, form })
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
    InternalError::from_response("page request refused", res).into()
}

/// Resolves the user for a page, or the response to send instead: a
/// redirect to the sign-in page, or 403 for a non-admin on the console.
async fn page_ctx<const ADMIN: bool>(
    state: &AppState,
    req: &HttpRequest,
) -> Result<PageCtx<ADMIN>, HttpResponse> {
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
    let one_factor_where_two_are_needed = session.as_ref().is_some_and(|s| {
        state.settings.mfa_policy().requires(&s.user)
            && mfa::acr_of(&s.session.amr) != mfa::ACR_TWO_FACTORS
    });
    let Some(session) = session.filter(|_| !one_factor_where_two_are_needed) else {
        // To sign in (again, with a second factor where one is needed) and back.
        let back = match req.query_string() {
            "" => req.path().to_owned(),
            q => format!("{}?{q}", req.path()),
        };
        let enc: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
        return Err(redirect(StatusCode::SEE_OTHER, &format!("/login?return_to={enc}")).finish());
    };
    if ADMIN && !session.user.is_admin {
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
    Ok(PageCtx {
        session,
        csrf,
        flash,
        ip: client_ip(req),
        now,
    })
}

/// True when a POST comes from this site's own pages. Browsers send
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
/// returns the user with the form.
async fn page_post<const ADMIN: bool>(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
) -> Result<(PageCtx<ADMIN>, Params), HttpResponse> {
    let from = if ADMIN {
        "the admin console"
    } else {
        "this site"
    };
    if !same_origin(req, &state.settings.issuer) {
        log::warn!("security: cross-origin POST to {} refused", req.path());
        return Err(forbidden(&format!("The request did not come from {from}.")));
    }
    let form = read_form(req, body)
        .await
        .map_err(|e| error_page(StatusCode::BAD_REQUEST, "Invalid request", &e.description()))?;
    let ctx = page_ctx::<ADMIN>(state, req).await?;
    let ok: bool = form
        .get("csrf_token")
        .is_some_and(|t| t.as_bytes().ct_eq(ctx.csrf.as_bytes()).into());
    if !ok {
        log::warn!(
            "security: POST to {} without a valid CSRF token refused",
            req.path()
        );
        return Err(forbidden(&format!(
            "The form expired or was not sent from {from}."
        )));
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
