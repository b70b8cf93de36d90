//! `/admin/keys`: signing keys with their state, and "Rotate now".

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::domain::audit::{self, Actor};
use crate::domain::error::OAuthError;
use crate::domain::keys::{self, Activation};
use crate::state::AppState;

use super::super::pages::internal_error_page;
use super::{AdminCtx, AdminForm, done, needs_fresh_sign_in, render_admin, when};

struct Row {
    state: &'static str,
    kid: String,
    created: String,
    activates: String,
    retires: String,
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct KeysPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    max_age: i64,
    rows: Vec<Row>,
}

/// Lists keys.
pub async fn admin_keys_get(ctx: AdminCtx, state: web::Data<AppState>) -> HttpResponse {
    let (timing, now) = (state.keys.timing(), ctx.now);
    let rows = crate::db::run(&state.pool, move |conn| {
        keys::list(conn, &timing, now).map_err(OAuthError::internal)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal_error_page(e),
    };
    let page = KeysPage {
        section: "keys",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        max_age: state.settings.jwks_max_age,
        rows: rows
            .iter()
            .rev()
            .map(|k| Row {
                state: k.state.as_str(),
                kid: k.kid.clone(),
                created: when(now, k.created_at),
                activates: when(now, k.activates_at),
                retires: k
                    .unpublished_at(&timing)
                    .map(|t| when(now, t))
                    .unwrap_or_else(|| "-".into()),
            })
            .collect(),
    };
    render_admin(&page, ctx.flash.is_some())
}

/// Starts a rotation: the new key is published now and signs after the wait.
pub async fn admin_keys_rotate_post(
    AdminForm { ctx, .. }: AdminForm,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !ctx.recently_signed_in() {
        return needs_fresh_sign_in("/admin/keys");
    }
    let (name, ip, now, timing) = (
        ctx.session.user.username.clone(),
        ctx.ip.clone(),
        ctx.now,
        state.keys.timing(),
    );
    let outcome = crate::db::run(&state.pool, move |conn| {
        let k = keys::rotate(conn, &timing, now, Activation::AfterPublishWait)
            .map_err(OAuthError::internal)?;
        audit::record(
            conn,
            &Actor {
                name: &name,
                ip: &ip,
            },
            "keys.rotated",
            &k.kid,
            "",
            now,
        )?;
        Ok::<_, OAuthError>(k)
    })
    .await;
    match outcome {
        Ok(k) => done(
            "/admin/keys",
            &format!(
                "Key {} is published and starts signing {}.",
                k.kid,
                super::ago(now, k.activates_at)
            ),
        ),
        Err(e) => internal_error_page(e),
    }
}
