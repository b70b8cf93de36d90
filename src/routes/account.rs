//! `{issuer}/account`: a signed-in user's own page. Their sessions, each
//! with "Sign out"; their authenticator app and recovery codes; their
//! password; the applications they consented to. Same protections as the
//! console: every change is a same-origin POST with the session's CSRF
//! token, and setting up or removing a second factor needs a recent sign-in.

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, web};
use askama::Template;

use crate::db::users::UserRow;
use crate::domain::account::{self, PasswordChange};
use crate::domain::audit::{self, Actor};
use crate::domain::error::OAuthError;
use crate::domain::login::SignInFailure;
use crate::domain::mfa;
use crate::state::AppState;

use super::admin::{FLASH_COOKIE, when};
use super::login::throttled_message;
use super::pages::{html, internal_error_page, redirect, render};
use super::passkeys;
use super::second_factor::{EnrolPage, RecoveryCodesPage, qr_svg};
use super::signed_in::{AccountCtx, AccountForm};

/// Where the account page lives; also the path of its flash cookie.
pub const PATH: &str = "/account";

struct SessionRow {
    id: i32,
    current: bool,
    user_agent: String,
    ip: String,
    signed_in: String,
    last_used: String,
}

struct PasskeyView {
    id: i32,
    name: String,
    added: String,
    last_used: String,
}

struct ConsentRow {
    client_id: String,
    client_name: String,
    scope: String,
    granted: String,
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    username: String,
    flash: Option<String>,
    csrf: String,
    sessions: Vec<SessionRow>,
    totp: bool,
    recovery_codes_left: i64,
    passkeys_available: bool,
    passkeys: Vec<PasskeyView>,
    consents: Vec<ConsentRow>,
}

/// The signed-in user, owned so the work can move to the blocking pool.
struct Me {
    user: UserRow,
    ip: String,
    now: i64,
}

impl Me {
    fn of(ctx: &AccountCtx) -> Self {
        Me {
            user: ctx.session.user.clone(),
            ip: ctx.ip.clone(),
            now: ctx.now,
        }
    }

    fn actor(&self) -> Actor<'_> {
        Actor {
            name: &self.user.username,
            ip: &self.ip,
        }
    }
}

/// New recovery codes, shown once, then back to the account page.
fn show_recovery_codes(codes: &[String]) -> HttpResponse {
    render(
        StatusCode::OK,
        &RecoveryCodesPage { codes, next: PATH },
        Vec::new(),
    )
}

/// Registers the account routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope(PATH)
            .route("", web::get().to(account_get))
            .route("/sessions/{id}/end", web::post().to(end_session_post))
            .route("/password", web::post().to(password_post))
            .route("/totp", web::post().to(totp_post))
            .route("/totp/confirm", web::post().to(totp_confirm_post))
            .route("/totp/remove", web::post().to(totp_remove_post))
            .route("/recovery-codes", web::post().to(recovery_codes_post))
            .route("/passkeys/start", web::post().to(passkeys::register_start))
            .route(
                "/passkeys/finish",
                web::post().to(passkeys::register_finish),
            )
            .route(
                "/passkeys/{id}/remove",
                web::post().to(passkeys::remove_post),
            )
            .route(
                "/consents/{client_id}/withdraw",
                web::post().to(withdraw_consent_post),
            ),
    );
}

fn flash_cookie(value: String, remove: bool) -> Cookie<'static> {
    let mut c = Cookie::build(FLASH_COOKIE, value)
        .path(PATH)
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if remove {
        c.make_removal();
    }
    c
}

/// Redirects to `location` with a message for the account page.
fn flash_redirect(location: &str, message: &str) -> HttpResponse {
    let enc = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    redirect(StatusCode::SEE_OTHER, location)
        .cookie(flash_cookie(enc, false))
        .finish()
}

/// Back to the account page with a message.
pub(super) fn done(message: &str) -> HttpResponse {
    flash_redirect(PATH, message)
}

/// Sends the user to sign in again before changing a second factor.
pub(super) fn needs_fresh_sign_in() -> HttpResponse {
    flash_redirect(
        "/login?return_to=%2Faccount",
        "Sign in again to do this: it needs a sign-in from the last 10 minutes.",
    )
}

/// `GET /account`.
async fn account_get(ctx: AccountCtx, state: web::Data<AppState>) -> HttpResponse {
    let (user, current, now) = (ctx.session.user.clone(), ctx.session.session.id, ctx.now);
    let loaded = crate::db::run(&state.pool, move |conn| {
        let sessions = account::own_sessions(conn, &user, current, now)?;
        let factors = mfa::factors(conn, user.id)?;
        let consents = account::consents(conn, user.id)?;
        let keys = crate::domain::passkeys::list(conn, user.id)?;
        Ok::<_, OAuthError>((sessions, factors, consents, keys))
    })
    .await;
    let (sessions, factors, consents, keys) = match loaded {
        Ok(l) => l,
        Err(e) => return internal_error_page(e),
    };
    let page = AccountPage {
        username: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        sessions: sessions
            .into_iter()
            .map(|s| SessionRow {
                id: s.id,
                current: s.current,
                user_agent: s.user_agent,
                ip: s.ip,
                signed_in: when(now, s.signed_in_at),
                last_used: when(now, s.last_seen_at),
            })
            .collect(),
        totp: factors.totp,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys_available: state.passkeys.is_some(),
        passkeys: keys
            .into_iter()
            .map(|k| PasskeyView {
                id: k.id,
                added: when(now, k.created_at),
                last_used: k
                    .last_used_at
                    .map_or_else(|| "never".into(), |t| when(now, t)),
                name: k.name,
            })
            .collect(),
        consents: consents
            .into_iter()
            .map(|c| ConsentRow {
                granted: when(now, c.granted_at),
                client_id: c.client_id,
                client_name: c.client_name,
                scope: c.scope,
            })
            .collect(),
    };
    match page.render() {
        Ok(body) => {
            let mut b = html(StatusCode::OK);
            b.insert_header((header::REFERRER_POLICY, "same-origin"));
            if ctx.flash.is_some() {
                b.cookie(flash_cookie(String::new(), true));
            }
            b.body(body)
        }
        Err(e) => internal_error_page(e),
    }
}

/// `POST /account/sessions/{id}/end`: "Sign out" for one session.
async fn end_session_post(
    f: AccountForm,
    state: web::Data<AppState>,
    path: web::Path<i32>,
) -> HttpResponse {
    let (id, me, ttl) = (
        path.into_inner(),
        Me::of(&f.ctx),
        state.settings.access_token_ttl,
    );
    let ended = crate::db::run(&state.pool, move |conn| {
        account::end_own_session(conn, &me.actor(), me.user.id, id, ttl, me.now)
            .map_err(OAuthError::from)
    })
    .await;
    match ended {
        Ok(true) => done("Signed out of that session."),
        Ok(false) => done("That session had already ended."),
        Err(e) => internal_error_page(e),
    }
}

/// `POST /account/password`.
async fn password_post(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    let current = f.form.get("current_password").unwrap_or("").to_owned();
    let new = f.form.get("new_password").unwrap_or("").to_owned();
    let (me, keep, ttl) = (
        Me::of(&f.ctx),
        f.ctx.session.session.id,
        state.settings.access_token_ttl,
    );
    let changed = crate::db::run(&state.pool, move |conn| {
        let user = &me.user;
        account::change_password(conn, &me.actor(), user, &current, &new, keep, ttl, me.now)
            .map_err(OAuthError::internal)
    })
    .await;
    match changed {
        Ok(PasswordChange::Changed { ended }) => done(&format!(
            "Password changed. Other sessions signed out: {ended}."
        )),
        Ok(PasswordChange::Refused(SignInFailure::Invalid)) => {
            done("The current password is not correct. The password was not changed.")
        }
        Ok(PasswordChange::Refused(SignInFailure::Throttled { retry_after })) => {
            done(&throttled_message(retry_after))
        }
        Ok(PasswordChange::Invalid(why)) => done(&format!("The password was not changed: {why}.")),
        Err(e) => internal_error_page(e),
    }
}

/// The enrolment page for `e`, posting to the account page's confirmation.
fn enrol_page(
    f: &AccountForm,
    state: &AppState,
    status: StatusCode,
    e: &mfa::TotpEnrolment,
    error: Option<&str>,
) -> HttpResponse {
    let token = mfa::enrolment_token(&state.rotation, f.ctx.session.user.id, e, f.ctx.now);
    let (qr, secret) = (qr_svg(&e.uri), e.secret_text());
    let page = EnrolPage {
        required: false,
        qr_svg: &qr,
        secret: &secret,
        error,
        action: "/account/totp/confirm",
        enrolment: &token,
        csrf_token: &f.ctx.csrf,
        return_to: "",
    };
    render(status, &page, Vec::new())
}

/// `POST /account/totp`: a new authenticator app, shown for its first code.
/// Nothing is stored until that code confirms it.
async fn totp_post(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let e = mfa::new_totp(&state.settings.issuer, &f.ctx.session.user);
    enrol_page(&f, &state, StatusCode::OK, &e, None)
}

/// `POST /account/totp/confirm`: stores the new authenticator once its
/// first code is right, and shows new recovery codes.
async fn totp_confirm_post(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let user = f.ctx.session.user.clone();
    let Some(e) = f.form.get("enrolment").and_then(|t| {
        mfa::read_enrolment_token(&state.rotation, &state.settings.issuer, &user, t, f.ctx.now)
    }) else {
        return done("That set-up form is not valid. Start again.");
    };
    let code = f.form.get("code").unwrap_or("").to_owned();
    let (sealer, ip, now) = (state.sealer.clone(), f.ctx.ip.clone(), f.ctx.now);
    let pending = e.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        if !mfa::confirm_new_totp(conn, &sealer, user.id, &pending, &code, now)
            .map_err(OAuthError::internal)?
        {
            return Ok::<_, OAuthError>(None);
        }
        let codes = mfa::new_recovery_codes(conn, user.id, now)?;
        let actor = crate::domain::audit::Actor {
            name: &user.username,
            ip: &ip,
        };
        crate::domain::audit::record(conn, &actor, "user.totp_enrolled", &user.username, "", now)?;
        Ok(Some(codes))
    })
    .await;
    match outcome {
        Ok(Some(codes)) => render(
            StatusCode::OK,
            &RecoveryCodesPage {
                codes: &codes,
                next: PATH,
            },
            Vec::new(),
        ),
        Ok(None) => enrol_page(
            &f,
            &state,
            StatusCode::UNAUTHORIZED,
            &e,
            Some("Incorrect verification code."),
        ),
        Err(e) => internal_error_page(e),
    }
}

/// `POST /account/totp/remove`: removes the authenticator app and the
/// recovery codes.
async fn totp_remove_post(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let me = Me::of(&f.ctx);
    let removed = crate::db::run(&state.pool, move |conn| {
        mfa::remove_totp(conn, me.user.id)?;
        let name = &me.user.username;
        audit::record(conn, &me.actor(), "user.totp_removed", name, "", me.now)
            .map_err(OAuthError::from)
    })
    .await;
    match removed {
        Ok(()) => done("The authenticator app was removed."),
        Err(e) => internal_error_page(e),
    }
}

/// `POST /account/recovery-codes`: ten new codes; the old ones stop working.
async fn recovery_codes_post(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let (user_id, now) = (f.ctx.session.user.id, f.ctx.now);
    let codes = crate::db::run(&state.pool, move |conn| {
        if !mfa::has_second_factor(conn, user_id)? {
            return Ok::<_, OAuthError>(None);
        }
        Ok(Some(mfa::new_recovery_codes(conn, user_id, now)?))
    })
    .await;
    match codes {
        Ok(Some(codes)) => show_recovery_codes(&codes),
        Ok(None) => done("Set up an authenticator app first."),
        Err(e) => internal_error_page(e),
    }
}

/// `POST /account/consents/{client_id}/withdraw`.
async fn withdraw_consent_post(
    f: AccountForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let (client_id, me) = (path.into_inner(), Me::of(&f.ctx));
    let withdrawn = crate::db::run(&state.pool, move |conn| {
        account::withdraw_consent(conn, &me.actor(), &me.user, &client_id, me.now)
            .map_err(OAuthError::from)
    })
    .await;
    match withdrawn {
        Ok(true) => done("Consent withdrawn. The application must ask again."),
        Ok(false) => done("That application had no consent to withdraw."),
        Err(e) => internal_error_page(e),
    }
}
