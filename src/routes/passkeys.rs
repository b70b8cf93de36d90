//! The passkey ceremonies the pages' script (`/static/passkeys.js`) runs:
//! each a `start` that answers a WebAuthn challenge as JSON and a `finish`
//! that takes the browser's answer. Forms, not JSON bodies, so the same
//! CSRF checks as every page apply.
//!
//! - `/login/passkey/*`: sign in with a passkey and no username;
//! - `/login/verify/passkey/*`: a passkey as the second factor after the
//!   password (the pending sign-in's cookie says whose);
//! - `/account/passkeys/*`: register one ("Add a passkey"), remove one.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, HttpResponseBuilder, web};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::db::users::{self, UserRow};
use crate::domain::audit::{self, Actor};
use crate::domain::error::OAuthError;
use crate::domain::login::{self, SignIn};
use crate::domain::mfa::{self, pending};
use crate::domain::passkeys::{PasskeyError, RelyingParty};
use crate::domain::session::{NewBrowserSession, SessionPolicy};
use crate::state::AppState;

use super::form::Params;
use super::login::{SIGN_IN_FORM_EXPIRED, continue_to};
use super::pages::{client_ip, read_page_form, session_cookie, user_agent};
use super::second_factor::{clear_pending_cookie, pending_sign_in};
use super::signed_in::AccountForm;

/// Registers the sign-in ceremonies' routes (the account page's are in its
/// scope, see `account::configure`).
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/login/passkey/start", web::post().to(sign_in_start))
        .route("/login/passkey/finish", web::post().to(sign_in_finish))
        .route("/login/verify/passkey/start", web::post().to(second_start))
        .route(
            "/login/verify/passkey/finish",
            web::post().to(second_finish),
        );
}

/// A JSON answer the script reads, never cached.
fn json_builder(status: StatusCode) -> HttpResponseBuilder {
    let mut b = HttpResponse::build(status);
    b.insert_header((header::CACHE_CONTROL, "no-store"));
    b
}

fn json(status: StatusCode, body: &impl Serialize) -> HttpResponse {
    json_builder(status).json(body)
}

/// A refusal, with the message the page shows.
fn error(status: StatusCode, message: &str) -> HttpResponse {
    json(status, &serde_json::json!({ "error": message }))
}

/// Where the script sends the browser next.
#[derive(Serialize)]
struct Next<'a> {
    location: &'a str,
}

/// A challenge and the ceremony id to send back with the answer.
#[derive(Serialize)]
struct Challenge<T: Serialize> {
    ceremony: String,
    options: T,
}

fn unavailable() -> HttpResponse {
    error(
        StatusCode::NOT_FOUND,
        "Passkeys are not available on this server.",
    )
}

fn outcome_error(e: OAuthError) -> HttpResponse {
    log::error!("passkey ceremony failed: {e}");
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong. Try again.",
    )
}

/// Who a ceremony step is for, for the audit log of its refusals.
struct Step {
    name: &'static str,
    ip: String,
    now: i64,
}

impl Step {
    fn of(name: &'static str, state: &AppState, req: &HttpRequest) -> Self {
        Step {
            name,
            ip: client_ip(req),
            now: state.clock.now(),
        }
    }

    fn audit_refusal(&self, conn: &mut crate::db::Conn, why: &str) -> Result<(), OAuthError> {
        let who = Actor {
            name: "anonymous",
            ip: &self.ip,
        };
        let detail = format!("{}: {why}", self.name);
        Ok(audit::record(
            conn,
            &who,
            "passkey.refused",
            "",
            &detail,
            self.now,
        )?)
    }
}

/// Runs blocking passkey work; a refusal is audited and becomes a 400 with
/// its message.
async fn run<T, F>(state: &AppState, step: Step, f: F) -> Result<T, HttpResponse>
where
    F: FnOnce(&mut crate::db::Conn, &RelyingParty) -> Result<T, PasskeyError> + Send + 'static,
    T: Send + 'static,
{
    let Some(rp) = state.passkeys.clone() else {
        return Err(unavailable());
    };
    let outcome = crate::db::run(&state.pool, move |conn| {
        let result = f(conn, &rp);
        if let Err(PasskeyError::Refused(why)) = &result {
            step.audit_refusal(conn, why)?;
        }
        Ok::<_, OAuthError>(result)
    })
    .await;
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(PasskeyError::Refused(why))) => Err(error(StatusCode::BAD_REQUEST, why)),
        Ok(Err(e)) => Err(outcome_error(OAuthError::internal(e))),
        Err(e) => Err(outcome_error(e)),
    }
}

/// The browser's answer (`credential`, JSON) from a finish form; a
/// malformed one is audited and refused.
async fn answer<T: DeserializeOwned>(
    state: &AppState,
    step: &Step,
    form: &Params,
) -> Result<T, HttpResponse> {
    const MALFORMED: &str = "The passkey answer is malformed.";
    if let Some(parsed) = form
        .get("credential")
        .and_then(|c| serde_json::from_str(c).ok())
    {
        return Ok(parsed);
    }
    let step = Step {
        name: step.name,
        ip: step.ip.clone(),
        now: step.now,
    };
    let audited =
        crate::db::run(&state.pool, move |conn| step.audit_refusal(conn, MALFORMED)).await;
    Err(match audited {
        Ok(()) => error(StatusCode::BAD_REQUEST, MALFORMED),
        Err(e) => outcome_error(e),
    })
}

/// The session cookie and where to go, as the script expects them.
fn signed_in(state: &AppState, started: NewBrowserSession, return_to: &str) -> HttpResponse {
    let secure = state.settings.is_https();
    let location = continue_to(return_to).unwrap_or_else(|| "/account".into());
    json_builder(StatusCode::OK)
        .cookie(session_cookie(
            started.cookie_value,
            secure,
            state.settings.session_ttl,
        ))
        .cookie(clear_pending_cookie(secure))
        .json(Next {
            location: &location,
        })
}

/// `POST /login/passkey/start`: a challenge any registered passkey answers.
async fn sign_in_start(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if let Err(page) = read_page_form(&req, body, SIGN_IN_FORM_EXPIRED).await {
        return page;
    }
    let (step, now) = (Step::of("sign-in start", &state, &req), state.clock.now());
    match run(&state, step, move |conn, rp| rp.start_sign_in(conn, now)).await {
        Ok((options, ceremony)) => json(StatusCode::OK, &Challenge { ceremony, options }),
        Err(res) => res,
    }
}

/// `POST /login/passkey/finish`: signs in the passkey's owner.
async fn sign_in_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let (form, step, credential) = match finish_form(&state, &req, body, "sign-in").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let finish = Finish::of(&state, &req, &form);
    let return_to = finish.return_to.clone();
    let started = run(&state, step, move |conn, rp| {
        let (user, key) =
            rp.finish_sign_in(conn, &finish.ip, &finish.ceremony, &credential, finish.now)?;
        finish.complete(conn, &user, &mfa::amr_with_passkey(key, false))
    })
    .await;
    match started {
        Ok(s) => signed_in(&state, s, &return_to),
        Err(res) => res,
    }
}

/// A sign-in finish form, its step and the browser's answer, once the
/// page's CSRF token checked out.
async fn finish_form<T: DeserializeOwned>(
    state: &AppState,
    req: &HttpRequest,
    body: web::Payload,
    name: &'static str,
) -> Result<(Params, Step, T), HttpResponse> {
    let form = read_page_form(req, body, SIGN_IN_FORM_EXPIRED).await?;
    let step = Step::of(name, state, req);
    let credential = answer(state, &step, &form).await?;
    Ok((form, step, credential))
}

/// What completing a sign-in from a finish form needs.
struct Finish {
    ceremony: String,
    return_to: String,
    ip: String,
    agent: String,
    policy: SessionPolicy,
    request: Params,
    now: i64,
}

impl Finish {
    fn of(state: &AppState, req: &HttpRequest, form: &Params) -> Self {
        let return_to = form.get("return_to").unwrap_or("").to_owned();
        Finish {
            ceremony: form.get("ceremony").unwrap_or("").to_owned(),
            request: Params::parse(return_to.as_bytes()).unwrap_or_default(),
            return_to,
            ip: client_ip(req),
            agent: user_agent(req),
            policy: state.settings.session_policy(),
            now: state.clock.now(),
        }
    }

    /// Starts `user`'s session, signed in as `amr` says.
    fn complete(
        &self,
        conn: &mut crate::db::Conn,
        user: &UserRow,
        amr: &str,
    ) -> Result<NewBrowserSession, PasskeyError> {
        let sign_in = SignIn {
            user,
            ip: &self.ip,
            user_agent: &self.agent,
            amr,
        };
        let request = self.request.as_map();
        Ok(login::complete(
            conn,
            &self.policy,
            sign_in,
            request,
            self.now,
        )?)
    }
}

/// The user of the pending sign-in, if it is one waiting for a code.
async fn pending_user(state: &AppState, req: &HttpRequest) -> Result<UserRow, HttpResponse> {
    let expired = || {
        error(
            StatusCode::BAD_REQUEST,
            "This sign-in took too long. Go back and sign in again.",
        )
    };
    let Some(p) = pending_sign_in(state, req).filter(|p| p.stage == pending::Stage::Verify) else {
        return Err(expired());
    };
    let id = p.user_id;
    let found = crate::db::run(&state.pool, move |conn| {
        users::find_user_by_id(conn, id).map_err(OAuthError::from)
    })
    .await;
    match found {
        Ok(Some(u)) if !u.disabled && p.still_valid_for(&u.password_hash) => Ok(u),
        Ok(_) => Err(expired()),
        Err(e) => Err(outcome_error(e)),
    }
}

/// `POST /login/verify/passkey/start`: a challenge for the user's passkeys.
async fn second_start(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    if let Err(page) = read_page_form(&req, body, SIGN_IN_FORM_EXPIRED).await {
        return page;
    }
    let user = match pending_user(&state, &req).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let (step, now) = (
        Step::of("second factor start", &state, &req),
        state.clock.now(),
    );
    match run(&state, step, move |conn, rp| {
        rp.start_second_factor(conn, user.id, now)
    })
    .await
    {
        Ok(Some((options, ceremony))) => json(StatusCode::OK, &Challenge { ceremony, options }),
        Ok(None) => error(
            StatusCode::BAD_REQUEST,
            "No passkey is registered for this account.",
        ),
        Err(res) => res,
    }
}

/// `POST /login/verify/passkey/finish`: completes the sign-in.
async fn second_finish(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let (form, step, credential) = match finish_form(&state, &req, body, "second factor").await {
        Ok(f) => f,
        Err(res) => return res,
    };
    let user = match pending_user(&state, &req).await {
        Ok(u) => u,
        Err(res) => return res,
    };
    let finish = Finish::of(&state, &req, &form);
    let return_to = finish.return_to.clone();
    let started = run(&state, step, move |conn, rp| {
        let key = rp.finish_second_factor(
            conn,
            &finish.ip,
            &user,
            &finish.ceremony,
            &credential,
            finish.now,
        )?;
        finish.complete(conn, &user, &mfa::amr_with_passkey(key, true))
    })
    .await;
    match started {
        Ok(s) => signed_in(&state, s, &return_to),
        Err(res) => res,
    }
}

fn needs_fresh_sign_in() -> HttpResponse {
    error(
        StatusCode::FORBIDDEN,
        "Sign in again to do this: it needs a sign-in from the last 10 minutes.",
    )
}

/// `POST /account/passkeys/start`: a challenge for a new passkey.
pub(super) async fn register_start(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let (user, now) = (f.ctx.session.user.clone(), f.ctx.now);
    let step = Step {
        name: "registration start",
        ip: f.ctx.ip.clone(),
        now,
    };
    match run(&state, step, move |conn, rp| {
        rp.start_registration(conn, &user, now)
    })
    .await
    {
        Ok((options, ceremony)) => json(StatusCode::OK, &Challenge { ceremony, options }),
        Err(res) => res,
    }
}

/// `POST /account/passkeys/finish`: stores the new passkey.
pub(super) async fn register_finish(f: AccountForm, state: web::Data<AppState>) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return needs_fresh_sign_in();
    }
    let step = Step {
        name: "registration",
        ip: f.ctx.ip.clone(),
        now: f.ctx.now,
    };
    let credential = match answer(&state, &step, &f.form).await {
        Ok(c) => c,
        Err(res) => return res,
    };
    let ceremony = f.form.get("ceremony").unwrap_or("").to_owned();
    let name = f.form.get("name").unwrap_or("").to_owned();
    let (user, ip, now) = (f.ctx.session.user.clone(), f.ctx.ip.clone(), f.ctx.now);
    let added = run(&state, step, move |conn, rp| {
        let actor = crate::domain::audit::Actor {
            name: &user.username,
            ip: &ip,
        };
        rp.finish_registration(conn, &actor, &user, &ceremony, &name, &credential, now)
    })
    .await;
    match added {
        Ok(()) => json(
            StatusCode::OK,
            &Next {
                location: "/account",
            },
        ),
        Err(res) => res,
    }
}

/// `POST /account/passkeys/{id}/remove`.
pub(super) async fn remove_post(
    f: AccountForm,
    state: web::Data<AppState>,
    path: web::Path<i32>,
) -> HttpResponse {
    if !f.ctx.recently_signed_in() {
        return super::account::needs_fresh_sign_in();
    }
    let (id, user, ip, now) = (
        path.into_inner(),
        f.ctx.session.user.clone(),
        f.ctx.ip.clone(),
        f.ctx.now,
    );
    let removed = crate::db::run(&state.pool, move |conn| {
        let removed = crate::domain::passkeys::remove(conn, user.id, id)?;
        if removed {
            let actor = crate::domain::audit::Actor {
                name: &user.username,
                ip: &ip,
            };
            crate::domain::audit::record(conn, &actor, "passkey.removed", &user.username, "", now)?;
        }
        Ok::<_, OAuthError>(removed)
    })
    .await;
    match removed {
        Ok(true) => super::account::done("Passkey removed."),
        Ok(false) => super::account::done("That passkey was already removed."),
        Err(e) => super::pages::internal_error_page(e),
    }
}
