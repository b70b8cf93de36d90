//! The second step of a sign-in, after a correct password: `POST
//! /login/verify` takes a code from the user's authenticator app or a
//! recovery code, or, when the policy requires a second factor the user
//! does not have yet, the first code of the authenticator being enrolled.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::db::users::{self, UserRow};
use crate::domain::error::OAuthError;
use crate::domain::login::{self, SignIn, SignInFailure};
use crate::domain::mfa::pending::{self, Pending, Stage};
use crate::domain::mfa::{self, TotpEnrolment};
use crate::domain::session::NewBrowserSession;
use crate::state::AppState;

use super::form::Params;
use super::login::{SIGN_IN_FORM_EXPIRED, continue_to, signed_in, throttled_message};
use super::pages::{
    client_ip, csrf_token, error_page, internal_error_page, read_page_form, render, user_agent,
};

/// The cookie that carries a pending sign-in between the two steps.
const PENDING_COOKIE: &str = "tessera_pending";

#[derive(Template)]
#[template(path = "second_factor.html")]
struct CodePage<'a> {
    error: Option<&'a str>,
    csrf_token: &'a str,
    return_to: &'a str,
    /// "Use a passkey" (only where the issuer allows WebAuthn).
    passkeys: bool,
}

/// Enrolling an authenticator app: the QR code, the key, and a field for
/// the first code.
#[derive(Template)]
#[template(path = "enrol_totp.html")]
pub(super) struct EnrolPage<'a> {
    pub required: bool,
    pub qr_svg: &'a str,
    pub secret: &'a str,
    pub error: Option<&'a str>,
    pub action: &'a str,
    /// The new secret, MACed, when it is stored only once confirmed.
    pub enrolment: &'a str,
    pub csrf_token: &'a str,
    pub return_to: &'a str,
}

/// New recovery codes, shown once.
#[derive(Template)]
#[template(path = "recovery_codes.html")]
pub(super) struct RecoveryCodesPage<'a> {
    pub codes: &'a [String],
    pub next: &'a str,
}

/// The `otpauth://` URI as an inline SVG QR code (no script, no image
/// request, nothing for the CSP to allow).
pub(super) fn qr_svg(uri: &str) -> String {
    use qrcode::render::svg;
    let Ok(code) = qrcode::QrCode::new(uri.as_bytes()) else {
        return String::new();
    };
    let image = code.render::<svg::Color>().quiet_zone(true).build();
    // Inline in HTML: without the XML declaration.
    image
        .find("<svg")
        .map_or(String::new(), |at| image[at..].to_owned())
}

fn pending_cookie(value: String, secure: bool) -> Cookie<'static> {
    let mut c = Cookie::build(PENDING_COOKIE, value)
        .path("/login")
        .http_only(true)
        .secure(secure)
        .finish();
    c.set_same_site(SameSite::Strict);
    c.set_max_age(CookieDuration::seconds(pending::TTL));
    c
}

/// A cookie that deletes the pending sign-in.
pub(super) fn clear_pending_cookie(secure: bool) -> Cookie<'static> {
    let mut c = pending_cookie(String::new(), secure);
    c.make_removal();
    c
}

/// A page's cookies: a new CSRF cookie and a new pending sign-in, if any.
fn page_cookies(
    state: &AppState,
    csrf: Option<Cookie<'static>>,
    pending_value: Option<String>,
) -> Vec<Cookie<'static>> {
    let secure = state.settings.is_https();
    csrf.into_iter()
        .chain(pending_value.map(|v| pending_cookie(v, secure)))
        .collect()
}

fn code_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error: Option<&str>,
    return_to: &str,
    pending_value: Option<String>,
) -> HttpResponse {
    let (token, csrf) = csrf_token(req, state.settings.is_https());
    let page = CodePage {
        error,
        csrf_token: &token,
        return_to,
        passkeys: state.passkeys.is_some(),
    };
    render(status, &page, page_cookies(state, csrf, pending_value))
}

fn enrol_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    enrolment: &TotpEnrolment,
    error: Option<&str>,
    return_to: &str,
    pending_value: Option<String>,
) -> HttpResponse {
    let (token, csrf) = csrf_token(req, state.settings.is_https());
    let (qr, secret) = (qr_svg(&enrolment.uri), enrolment.secret_text());
    let page = EnrolPage {
        required: true,
        qr_svg: &qr,
        secret: &secret,
        error,
        action: "/login/verify",
        enrolment: "",
        csrf_token: &token,
        return_to,
    };
    render(status, &page, page_cookies(state, csrf, pending_value))
}

/// After the password of a user with a second factor: the code page.
pub(super) fn ask_for_code(
    state: &AppState,
    req: &HttpRequest,
    user: &UserRow,
    return_to: &str,
) -> HttpResponse {
    let (key, now) = (&state.rotation, state.clock.now());
    let value = pending::issue(key, user.id, &user.password_hash, Stage::Verify, now);
    code_page(state, req, StatusCode::OK, None, return_to, Some(value))
}

/// After the password of a user who must have a second factor and has
/// none: enrol an authenticator app, then the sign-in completes.
pub(super) fn ask_to_enrol(
    state: &AppState,
    req: &HttpRequest,
    user: &UserRow,
    enrolment: &TotpEnrolment,
    return_to: &str,
) -> HttpResponse {
    let (key, now) = (&state.rotation, state.clock.now());
    let value = pending::issue(key, user.id, &user.password_hash, Stage::Enrol, now);
    enrol_page(
        state,
        req,
        StatusCode::OK,
        enrolment,
        None,
        return_to,
        Some(value),
    )
}

/// What a submitted code led to.
enum Outcome {
    /// The code was right: the session started.
    SignedIn(NewBrowserSession),
    /// The first code of a new authenticator was right: the session
    /// started and the user gets recovery codes.
    Enrolled(NewBrowserSession, Vec<String>),
    /// Wrong code (or locked); while enrolling, the enrolment to show again.
    Refused(SignInFailure, Option<TotpEnrolment>),
    /// The pending sign-in's user is gone or disabled.
    Expired,
}

/// `POST /login/verify`.
pub async fn verify_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let form = match read_page_form(&req, body, SIGN_IN_FORM_EXPIRED).await {
        Ok(f) => f,
        Err(page) => return page,
    };
    let Some(pending) = pending_sign_in(&state, &req) else {
        return expired();
    };
    let code = form.get("code").unwrap_or("").to_owned();
    let return_to = form.get("return_to").unwrap_or("").to_owned();
    let outcome = check_code(&state, &req, pending, code, &return_to).await;
    match outcome {
        Ok(Outcome::SignedIn(started)) => signed_in(&state, started, &return_to),
        Ok(Outcome::Enrolled(started, codes)) => {
            let next = continue_to(&return_to).unwrap_or_else(|| "/account".into());
            let page = RecoveryCodesPage {
                codes: &codes,
                next: &next,
            };
            let secure = state.settings.is_https();
            let cookie = super::pages::session_cookie(
                started.cookie_value,
                secure,
                state.settings.session_ttl,
            );
            render(
                StatusCode::OK,
                &page,
                vec![cookie, clear_pending_cookie(secure)],
            )
        }
        Ok(Outcome::Refused(failure, enrolment)) => {
            let (status, message) = match failure {
                SignInFailure::Invalid => (
                    StatusCode::UNAUTHORIZED,
                    "Incorrect verification code.".to_owned(),
                ),
                SignInFailure::Throttled { retry_after } => (
                    StatusCode::TOO_MANY_REQUESTS,
                    throttled_message(retry_after),
                ),
            };
            match enrolment {
                Some(e) => enrol_page(&state, &req, status, &e, Some(&message), &return_to, None),
                None => code_page(&state, &req, status, Some(&message), &return_to, None),
            }
        }
        Ok(Outcome::Expired) => expired(),
        Err(e) => internal_error_page(e),
    }
}

/// The browser's pending sign-in, if it holds a live one.
pub(super) fn pending_sign_in(state: &AppState, req: &HttpRequest) -> Option<Pending> {
    req.cookie(PENDING_COOKIE)
        .and_then(|c| pending::read(&state.rotation, c.value(), state.clock.now()))
}

fn expired() -> HttpResponse {
    error_page(
        StatusCode::BAD_REQUEST,
        "Sign-in expired",
        "This sign-in took too long or was already finished. Go back and sign in again.",
    )
}

/// Checks the code for the pending sign-in and, when right, completes it.
async fn check_code(
    state: &AppState,
    req: &HttpRequest,
    pending: Pending,
    code: String,
    return_to: &str,
) -> Result<Outcome, OAuthError> {
    let (ip, agent) = (client_ip(req), user_agent(req));
    let policy = state.settings.session_policy();
    let (sealer, issuer) = (state.sealer.clone(), state.settings.issuer.clone());
    let now = state.clock.now();
    let request = Params::parse(return_to.as_bytes()).unwrap_or_default();
    crate::db::run(&state.pool, move |conn| {
        let Some(user) = users::find_user_by_id(conn, pending.user_id)?
            .filter(|u| !u.disabled && pending.still_valid_for(&u.password_hash))
        else {
            return Ok(Outcome::Expired);
        };
        let enrolling = pending.stage == Stage::Enrol;
        let shown_again = |conn: &mut _| -> Result<Option<TotpEnrolment>, OAuthError> {
            if !enrolling {
                return Ok(None);
            }
            mfa::unconfirmed_totp(conn, &sealer, &user, &issuer).map_err(OAuthError::internal)
        };
        // The lock check, the code and the failure count as one step, so
        // guesses sent side by side cannot all slip past one lock check.
        let checked = crate::db::immediate(conn, |conn| {
            if let Some(retry_after) = login::locked(conn, &user.username, &ip, now)? {
                return Ok::<_, OAuthError>(Err(SignInFailure::Throttled { retry_after }));
            }
            let right = if enrolling {
                mfa::confirm_totp(conn, &sealer, user.id, &code, now)
            } else {
                mfa::verify_second_factor(conn, &sealer, user.id, &code, now).map(|f| f.is_some())
            }
            .map_err(OAuthError::internal)?;
            if right {
                return Ok(Ok(()));
            }
            let action = "sign_in.second_factor_failed";
            Ok(Err(login::credential_failed(
                conn, &user, &ip, action, now,
            )?))
        })?;
        if let Err(failure) = checked {
            let again = shown_again(conn)?;
            return Ok(Outcome::Refused(failure, again));
        }
        let sign_in = SignIn {
            user: &user,
            ip: &ip,
            user_agent: &agent,
            amr: mfa::AMR_PASSWORD_OTP,
        };
        let started = login::complete(conn, &policy, sign_in, request.as_map(), now)?;
        if enrolling {
            let codes = mfa::new_recovery_codes(conn, user.id, now)?;
            return Ok(Outcome::Enrolled(started, codes));
        }
        Ok(Outcome::SignedIn(started))
    })
    .await
}
