//! `/admin/users`: list, search and page users; create; disable, enable,
//! reset password, revoke sessions; a user's sessions and grants.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::admin;
use crate::domain::audit::Actor;
use crate::domain::error::OAuthError;
use crate::domain::password;
use crate::domain::user::{NewUserRequest, UserError};
use crate::state::AppState;

use super::super::form::Params;
use super::super::pages::internal_error_page;
use super::{AdminCtx, AdminForm, done, needs_fresh_sign_in, render_admin, show_secret, when};

const PER_PAGE: i64 = 50;

struct Row {
    username: String,
    name: String,
    email: String,
    role: &'static str,
    status: &'static str,
    second_factor: &'static str,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    search: String,
    page: i64,
    has_more: bool,
    rows: Vec<Row>,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    username: String,
    email: String,
    role: &'static str,
    status: &'static str,
    disabled: bool,
    created: String,
    roles: String,
    require_mfa: bool,
    totp: bool,
    recovery_codes_left: i64,
    passkeys: usize,
    sessions: Vec<String>,
    grants: Vec<String>,
}

fn role(admin: bool) -> &'static str {
    if admin { "admin" } else { "user" }
}

fn status(disabled: bool) -> &'static str {
    if disabled { "disabled" } else { "active" }
}

/// Lists users.
pub async fn admin_users_get(
    ctx: AdminCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> HttpResponse {
    let q = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let search = q.get("q").unwrap_or("").to_owned();
    let page = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let s = search.clone();
    let rows = crate::db::run(&state.pool, move |conn| {
        let users = admin::list_users(
            conn,
            (!s.is_empty()).then_some(s.as_str()),
            page,
            PER_PAGE + 1,
        )?;
        let factors = admin::second_factors_of(conn, &users)?;
        Ok::<_, OAuthError>((users, factors))
    })
    .await;
    let (mut rows, factors) = match rows {
        Ok(r) => r,
        Err(e) => return internal_error_page(e),
    };
    let has_more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let now = ctx.now;
    let page = UsersPage {
        section: "users",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        search,
        page,
        has_more,
        rows: rows
            .into_iter()
            .map(|u| Row {
                role: role(u.is_admin),
                status: status(u.disabled),
                second_factor: match factors.get(&u.username) {
                    Some(label) => label,
                    None if u.require_mfa => "none (required)",
                    None => "none",
                },
                created: when(now, u.created_at),
                name: u.name.unwrap_or_default(),
                email: u.email.unwrap_or_default(),
                username: u.username,
            })
            .collect(),
    };
    render_admin(&page, ctx.flash.is_some())
}

/// Creates a user with a generated one-time password.
pub async fn admin_users_post(
    AdminForm { ctx, form }: AdminForm,
    state: web::Data<AppState>,
) -> HttpResponse {
    let secret = password::generate_password();
    let request = NewUserRequest {
        username: form.get("username").unwrap_or("").trim().to_owned(),
        password: secret.clone(),
        email: form
            .get("email")
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty()),
        name: form
            .get("name")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        is_admin: form.get("admin") == Some("yes"),
        roles: form
            .get("roles")
            .map(|r| vec![r.to_owned()])
            .unwrap_or_default(),
    };
    let (name, ip, now) = (ctx.session.user.username.clone(), ctx.ip.clone(), ctx.now);
    let outcome = crate::db::run(&state.pool, move |conn| {
        Ok::<_, OAuthError>(admin::create_user(
            conn,
            &Actor {
                name: &name,
                ip: &ip,
            },
            &request,
            now,
        ))
    })
    .await;
    match outcome {
        Ok(Ok(u)) => show_secret(
            &ctx,
            "users",
            "User created",
            format!("{} can sign in with this one-time password:", u.username),
            secret,
            format!("/admin/users/{}", super::path_segment(&u.username)),
        ),
        Ok(Err(e)) => done("/admin/users", &format!("Not created: {e}")),
        Err(e) => internal_error_page(e),
    }
}

/// Shows one user with their sessions and grants.
pub async fn admin_user_get(
    ctx: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let username = path.into_inner();
    let (u2, now) = (username.clone(), ctx.now);
    let outcome = crate::db::run(&state.pool, move |conn| {
        let found = admin::user_grants(conn, &u2, now)
            .and_then(|g| admin::user_factors(conn, &u2).map(|f| (g, f)));
        let sessions = admin::list_sessions(conn, Some(&u2), now)?;
        Ok::<_, OAuthError>(found.map(|f| (f, sessions)))
    })
    .await;
    let (((user, grants), factors), sessions) = match outcome {
        Ok(Ok(x)) => x,
        Ok(Err(e)) => return done("/admin/users", &e.to_string()),
        Err(e) => return internal_error_page(e),
    };
    let page = UserPage {
        section: "users",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        role: role(user.is_admin),
        status: status(user.disabled),
        disabled: user.disabled,
        created: when(now, user.created_at),
        roles: user.roles.join(", "),
        require_mfa: user.require_mfa,
        totp: factors.totp,
        recovery_codes_left: factors.recovery_codes_left,
        passkeys: factors.passkeys,
        email: user.email.unwrap_or_default(),
        username: user.username,
        sessions: sessions
            .iter()
            .map(|s| {
                format!(
                    "{} from {} · signed in {} · clients: {}",
                    s.sid,
                    s.ip,
                    when(now, s.created_at),
                    s.clients.join(", ")
                )
            })
            .collect(),
        grants: grants
            .iter()
            .map(|(c, scope, offline, since)| {
                format!(
                    "{c}: {scope}{} · since {}",
                    if *offline { " (offline)" } else { "" },
                    when(now, *since)
                )
            })
            .collect(),
    };
    render_admin(&page, ctx.flash.is_some())
}

/// `disable`, `enable`, `reset-password` or `revoke-sessions` for a user.
pub async fn admin_user_action_post(
    AdminForm { ctx, form }: AdminForm,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (username, action) = path.into_inner();
    let roles = form.get("roles").unwrap_or("").to_owned();
    let back = format!("/admin/users/{}", super::path_segment(&username));
    if matches!(action.as_str(), "reset-password" | "reset-mfa") && !ctx.recently_signed_in() {
        return needs_fresh_sign_in(&back);
    }
    if action == "disable" && username == ctx.session.user.username {
        return done(&back, "You cannot disable your own account.");
    }
    let (name, ip, now, ttl) = (
        ctx.session.user.username.clone(),
        ctx.ip.clone(),
        ctx.now,
        state.settings.access_token_ttl,
    );
    let (u, a) = (username.clone(), action.clone());
    let outcome = crate::db::run(&state.pool, move |conn| {
        let actor = Actor {
            name: &name,
            ip: &ip,
        };
        let r: Result<Option<String>, UserError> = match a.as_str() {
            "disable" => admin::set_disabled(conn, &actor, &u, true, ttl, now).map(|_| None),
            "enable" => admin::set_disabled(conn, &actor, &u, false, ttl, now).map(|_| None),
            "reset-password" => admin::reset_password(conn, &actor, &u, now).map(Some),
            "revoke-sessions" => {
                admin::revoke_user_sessions(conn, &actor, &u, ttl, now).map(|_| None)
            }
            "roles" => admin::set_roles(conn, &actor, &u, &roles, now).map(|_| None),
            "require-mfa" => admin::set_require_mfa(conn, &actor, &u, true, now).map(|_| None),
            "unrequire-mfa" => admin::set_require_mfa(conn, &actor, &u, false, now).map(|_| None),
            "reset-mfa" => admin::reset_mfa(conn, &actor, &u, now).map(|_| None),
            _ => return Ok(None),
        };
        Ok::<_, OAuthError>(Some(r))
    })
    .await;
    flash_outcome(&ctx, &username, &action, &back, outcome)
}

fn flash_outcome(
    ctx: &AdminCtx,
    username: &str,
    action: &str,
    back: &str,
    outcome: Result<Option<Result<Option<String>, UserError>>, OAuthError>,
) -> HttpResponse {
    match outcome {
        Ok(None) => done(back, "Unknown action."),
        Ok(Some(Ok(Some(secret)))) => show_secret(
            ctx,
            "users",
            "Password reset",
            format!("{username}'s new one-time password:"),
            secret,
            back.to_owned(),
        ),
        Ok(Some(Ok(None))) => {
            let message = match action {
                "disable" => {
                    format!("{username} is disabled; their sessions and tokens are revoked.")
                }
                "enable" => format!("{username} is enabled."),
                "roles" => format!(
                    "{username}'s roles are saved; tokens carry them from the next sign-in or refresh."
                ),
                "require-mfa" => {
                    format!("{username} must sign in with a second factor from their next sign-in.")
                }
                "unrequire-mfa" => format!("A second factor is no longer required of {username}."),
                "reset-mfa" => {
                    format!(
                        "{username}'s authenticator app, recovery codes and passkeys are removed."
                    )
                }
                _ => format!("All of {username}'s sessions are revoked."),
            };
            done(back, &message)
        }
        Ok(Some(Err(e))) => done(back, &e.to_string()),
        Err(e) => internal_error_page(e),
    }
}
