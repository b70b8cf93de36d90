//! `/admin/audit`: the audit log, newest first, with filters and paging.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::domain::audit;
use crate::domain::error::OAuthError;
use crate::state::AppState;

use super::super::form::Params;
use super::super::pages::internal_error_page;
use super::{AdminCtx, render_admin, when};

const PER_PAGE: i64 = 50;

struct Row {
    at: String,
    actor: String,
    action: String,
    target: String,
    detail: String,
    ip: String,
}

#[derive(Template)]
#[template(path = "admin/audit.html")]
struct AuditPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    action: String,
    actor: String,
    page: i64,
    has_more: bool,
    rows: Vec<Row>,
}

/// Shows a page of the audit log.
pub async fn admin_audit_get(
    ctx: AdminCtx,
    state: web::Data<AppState>,
    req: HttpRequest,
) -> HttpResponse {
    let q = Params::parse(req.query_string().as_bytes()).unwrap_or_default();
    let action = q.get("action").unwrap_or("").to_owned();
    let actor = q.get("actor").unwrap_or("").to_owned();
    let page = q
        .get("page")
        .and_then(|p| p.parse::<i64>().ok())
        .unwrap_or(0)
        .max(0);
    let (a, b) = (action.clone(), actor.clone());
    let rows = crate::db::run(&state.pool, move |conn| {
        let f = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        audit::list(conn, f(&a).as_deref(), f(&b).as_deref(), page, PER_PAGE + 1)
            .map_err(OAuthError::from)
    })
    .await;
    let mut rows = match rows {
        Ok(r) => r,
        Err(e) => return internal_error_page(e),
    };
    let has_more = rows.len() as i64 > PER_PAGE;
    rows.truncate(PER_PAGE as usize);
    let now = ctx.now;
    let page = AuditPage {
        section: "audit",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        action,
        actor,
        page,
        has_more,
        rows: rows
            .into_iter()
            .map(|e| Row {
                at: when(now, e.at),
                actor: e.actor,
                action: e.action,
                target: e.target,
                detail: e.detail,
                ip: e.ip,
            })
            .collect(),
    };
    render_admin(&page, ctx.flash.is_some())
}
