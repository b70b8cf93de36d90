//! `GET /admin`: the active sessions, and revoking them.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::admin;
use crate::domain::error::OAuthError;
use crate::state::AppState;

use super::super::form::Params;
use super::super::pages::internal_error_page;
use super::{AdminCtx, AdminForm, done, render_admin, when};

struct Row {
    id: i32,
    sid: String,
    username: String,
    clients: String,
    ip: String,
    user_agent: String,
    created: String,
    last_seen: String,
    expires: String,
}

#[derive(Template)]
#[template(path = "admin/sessions.html")]
struct SessionsPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    filter: String,
    rows: Vec<Row>,
}

/// Lists live sessions, optionally for one username.
pub async fn admin_sessions_get(
    ctx: AdminCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> HttpResponse {
    let filter = Params::parse(req.query_string().as_bytes())
        .ok()
        .and_then(|p| p.get("user").map(str::to_owned))
        .unwrap_or_default();
    let (f, now) = (filter.clone(), ctx.now);
    let rows = crate::db::run(&state.pool, move |conn| {
        admin::list_sessions(conn, (!f.is_empty()).then_some(f.as_str()), now)
            .map_err(OAuthError::from)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal_error_page(e),
    };
    let page = SessionsPage {
        section: "sessions",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        filter,
        rows: rows
            .into_iter()
            .map(|s| Row {
                clients: if s.clients.is_empty() {
                    "-".into()
                } else {
                    s.clients.join(", ")
                },
                created: when(now, s.created_at),
                last_seen: when(now, s.last_seen_at),
                expires: when(now, s.expires_at),
                id: s.id,
                sid: s.sid,
                username: s.username,
                ip: s.ip,
                user_agent: s.user_agent,
            })
            .collect(),
    };
    render_admin(&page, ctx.flash.is_some())
}

/// Revokes one session: ends it, revokes its refresh-token families and
/// feeds its `sid`, in one transaction.
pub async fn admin_session_revoke_post(
    AdminForm { ctx, .. }: AdminForm,
    state: web::Data<AppState>,
    path: web::Path<i32>,
) -> HttpResponse {
    let id = path.into_inner();
    let (name, ip, now, ttl) = (
        ctx.session.user.username.clone(),
        ctx.ip.clone(),
        ctx.now,
        state.settings.access_token_ttl,
    );
    let outcome = crate::db::run(&state.pool, move |conn| {
        let actor = crate::domain::audit::Actor {
            name: &name,
            ip: &ip,
        };
        admin::revoke_session(conn, &actor, id, ttl, now).map_err(OAuthError::from)
    })
    .await;
    match outcome {
        Ok(true) => done("/admin", "Session revoked."),
        Ok(false) => done("/admin", "That session had already ended."),
        Err(e) => internal_error_page(e),
    }
}
