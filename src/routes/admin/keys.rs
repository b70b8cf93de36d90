//! `/admin/keys`: signing keys with their state, "Rotate now", "Rotate and
//! sign at once" and "Revoke key".

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::domain::audit::{self, Actor};
use crate::domain::error::OAuthError;
use crate::domain::keys::{self, Activation, RevokeError, Rotation, SigningAlg};
use crate::state::AppState;

use super::super::pages::internal_error_page;
use super::{AdminCtx, AdminForm, done, needs_fresh_sign_in, render_admin, when};

struct Row {
    state: &'static str,
    alg: String,
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
    /// Keys that may be revoked (kid, alg): every one but those signing now.
    revocable: Vec<(String, String)>,
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
        revocable: rows
            .iter()
            .rev()
            .filter(|k| k.state != keys::KeyState::Active)
            .map(|k| (k.kid.clone(), k.alg.clone()))
            .collect(),
        rows: rows
            .iter()
            .rev()
            .map(|k| Row {
                state: k.state.as_str(),
                alg: k.alg.clone(),
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
pub async fn admin_keys_rotate_post(form: AdminForm, state: web::Data<AppState>) -> HttpResponse {
    rotate(form, state, Activation::AfterPublishWait).await
}

/// For a leaked key: a new key signs at once and any pending key is dropped.
pub async fn admin_keys_rotate_now_post(
    form: AdminForm,
    state: web::Data<AppState>,
) -> HttpResponse {
    rotate(form, state, Activation::Immediately).await
}

async fn rotate(
    AdminForm { ctx, .. }: AdminForm,
    state: web::Data<AppState>,
    activation: Activation,
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
    let store = state.keys.clone();
    // Every algorithm at once: a leak or a routine rotation concerns the
    // server's keys, not one kind of them.
    let outcome = crate::db::run(&state.pool, move |conn| {
        let actor = Actor {
            name: &name,
            ip: &ip,
        };
        let mut rotations = Vec::new();
        for alg in SigningAlg::ALL {
            let r = keys::rotate(conn, &timing, store.sealer(), now, activation, alg)
                .map_err(OAuthError::internal)?;
            let how = match activation {
                Activation::Immediately => format!("immediate {alg}"),
                Activation::AfterPublishWait => alg.to_string(),
            };
            audit::record(conn, &actor, "keys.rotated", &r.key.kid, &how, now)?;
            for kid in &r.dropped {
                audit::record(conn, &actor, "keys.dropped", kid, "", now)?;
            }
            rotations.push(r);
        }
        // This instance signs with the new keys from the next token on.
        store.refresh(conn).map_err(OAuthError::internal)?;
        Ok::<_, OAuthError>(rotations)
    })
    .await;
    match outcome {
        Ok(rotations) => done("/admin/keys", &rotated(&rotations, activation, now)),
        Err(e) => internal_error_page(e),
    }
}

/// The flash message after a rotation.
fn rotated(rotations: &[Rotation], activation: Activation, now: i64) -> String {
    let kids = rotations
        .iter()
        .map(|r| format!("{} ({})", r.key.kid, r.key.alg))
        .collect::<Vec<_>>()
        .join(" and ");
    let dropped: Vec<&str> = rotations
        .iter()
        .flat_map(|r| r.dropped.iter().map(String::as_str))
        .collect();
    match activation {
        Activation::Immediately => format!(
            "Keys {kids} sign from now on.{} Revoke the old keys once you no longer need their tokens to verify.",
            if dropped.is_empty() {
                String::new()
            } else {
                format!(" The pending keys {} were dropped.", dropped.join(", "))
            }
        ),
        Activation::AfterPublishWait => format!(
            "Keys {kids} are published and start signing {}.",
            rotations
                .first()
                .map(|r| super::ago(now, r.key.activates_at))
                .unwrap_or_default()
        ),
    }
}

/// Removes a key from the JWKS at once.
pub async fn admin_keys_revoke_post(
    AdminForm { ctx, form }: AdminForm,
    state: web::Data<AppState>,
) -> HttpResponse {
    if !ctx.recently_signed_in() {
        return needs_fresh_sign_in("/admin/keys");
    }
    let kid = form.get("kid").unwrap_or("").trim().to_owned();
    let (name, ip, now, timing) = (
        ctx.session.user.username.clone(),
        ctx.ip.clone(),
        ctx.now,
        state.keys.timing(),
    );
    let store = state.keys.clone();
    let outcome = crate::db::run(&state.pool, move |conn| {
        match keys::revoke(conn, &timing, &kid, now) {
            Ok(_) => {}
            Err(RevokeError::Key(e)) => return Err(OAuthError::internal(e)),
            Err(refused) => return Ok(Err(refused.to_string())),
        }
        let actor = Actor {
            name: &name,
            ip: &ip,
        };
        audit::record(conn, &actor, "keys.revoked", &kid, "", now)?;
        store.refresh(conn).map_err(OAuthError::internal)?;
        Ok(Ok(kid))
    })
    .await;
    match outcome {
        Ok(Ok(kid)) => done(
            "/admin/keys",
            &format!(
                "Key {kid} was revoked: it left the JWKS and no token it signed verifies any more."
            ),
        ),
        Ok(Err(refused)) => done("/admin/keys", &format!("Not revoked: {refused}.")),
        Err(e) => internal_error_page(e),
    }
}
