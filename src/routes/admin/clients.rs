//! `/admin/clients`: list, register (secret shown once), edit, rotate the
//! secret, delete (revoking its tokens).

use actix_web::{HttpResponse, web};
use askama::Template;

use crate::domain::admin::{self, ClientEdit};
use crate::domain::audit::Actor;
use crate::domain::client::{
    self, Client, ClientKeys, ClientKind, GrantType, KeySource, NewClient,
};
use crate::domain::error::OAuthError;
use crate::domain::keys::SigningAlg;
use crate::domain::keys::alg::UnknownAlg;
use crate::state::AppState;

use super::super::form::Params;
use super::super::pages::internal_error_page;

use super::{AdminCtx, AdminForm, done, needs_fresh_sign_in, render_admin, show_secret, when};

/// The editable fields, as the form shows them.
#[derive(Default)]
struct ClientForm {
    name: String,
    redirect_uris: String,
    post_logout_redirect_uris: String,
    authorization_code: bool,
    refresh_token: bool,
    client_credentials: bool,
    scopes: String,
    consent: bool,
    require_par: bool,
    dpop: bool,
    backchannel_logout_uri: String,
    es256: bool,
    private_key_jwt: bool,
    jwks: String,
    jwks_uri: String,
}

impl ClientForm {
    fn of(c: &Client) -> Self {
        let lines = |v: &[crate::domain::redirect_uri::RedirectUri]| {
            v.iter().map(|u| u.as_str()).collect::<Vec<_>>().join("\n")
        };
        ClientForm {
            name: c.name.clone(),
            redirect_uris: lines(&c.redirect_uris),
            post_logout_redirect_uris: lines(&c.post_logout_redirect_uris),
            authorization_code: c.allows(GrantType::AuthorizationCode),
            refresh_token: c.allows(GrantType::RefreshToken),
            client_credentials: c.allows(GrantType::ClientCredentials),
            scopes: c.scopes.to_string(),
            consent: c.consent_required,
            require_par: c.require_par,
            dpop: c.dpop_bound,
            backchannel_logout_uri: c.backchannel_logout_uri.clone().unwrap_or_default(),
            es256: c.signing_alg == SigningAlg::ES256,
            private_key_jwt: c.keys.is_some(),
            jwks: match &c.keys {
                Some(ClientKeys::Set(set)) => serde_json::to_string_pretty(set).unwrap_or_default(),
                _ => String::new(),
            },
            jwks_uri: match &c.keys {
                Some(ClientKeys::Uri(uri)) => uri.clone(),
                _ => String::new(),
            },
        }
    }

    fn fresh() -> Self {
        ClientForm {
            authorization_code: true,
            refresh_token: true,
            scopes: client::DEFAULT_SCOPES.into(),
            ..Default::default()
        }
    }
}

struct Row {
    client_id: String,
    name: String,
    kind: &'static str,
    grants: String,
    scopes: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/clients.html")]
struct ClientsPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    rows: Vec<Row>,
    form: ClientForm,
}

#[derive(Template)]
#[template(path = "admin/client.html")]
struct ClientPage {
    section: &'static str,
    admin: String,
    flash: Option<String>,
    csrf: String,
    client_id: String,
    kind: &'static str,
    auth_method: &'static str,
    confidential: bool,
    created: String,
    form: ClientForm,
}

fn kind(c: &Client) -> &'static str {
    if c.is_public() {
        "public"
    } else {
        "confidential"
    }
}

/// The keys a private_key_jwt form gives: the set if pasted, else the URI.
fn key_source(form: &Params) -> KeySource {
    match (form.get("jwks"), form.get("jwks_uri")) {
        (Some(json), _) if !json.trim().is_empty() => KeySource::Set(json.to_owned()),
        (_, Some(uri)) if !uri.trim().is_empty() => KeySource::Uri(uri.trim().to_owned()),
        _ => KeySource::Set(String::new()),
    }
}

fn backchannel_uri(form: &Params) -> Option<String> {
    form.get("backchannel_logout_uri")
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(str::to_owned)
}

/// The form's signing algorithm, if it has one.
fn signing_alg(form: &Params) -> Result<Option<SigningAlg>, UnknownAlg> {
    form.get("signing_alg").map(str::parse).transpose()
}

fn lines(form: &Params, name: &str) -> Vec<String> {
    form.get(name)
        .unwrap_or("")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

fn grants(form: &Params) -> Vec<String> {
    GrantType::ALL
        .iter()
        .filter(|g| form.get(&format!("grant_{}", g.as_str())) == Some("yes"))
        .map(|g| g.as_str().to_owned())
        .collect()
}

/// Lists clients with the registration form.
pub async fn admin_clients_get(ctx: AdminCtx, state: web::Data<AppState>) -> HttpResponse {
    let rows = crate::db::run(&state.pool, |conn| {
        client::list_clients(conn).map_err(OAuthError::internal)
    })
    .await;
    let rows = match rows {
        Ok(r) => r,
        Err(e) => return internal_error_page(e),
    };
    let now = ctx.now;
    let page = ClientsPage {
        section: "clients",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        rows: rows
            .iter()
            .map(|c| Row {
                client_id: c.client_id.clone(),
                name: c.name.clone(),
                kind: kind(c),
                grants: c
                    .grant_types
                    .iter()
                    .map(|g| g.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                scopes: c.scopes.to_string(),
                created: when(now, c.created_at),
            })
            .collect(),
        form: ClientForm::fresh(),
    };
    render_admin(&page, ctx.flash.is_some())
}

/// Registers a client; a confidential one's secret is shown once.
pub async fn admin_clients_post(
    AdminForm { ctx, form }: AdminForm,
    state: web::Data<AppState>,
) -> HttpResponse {
    let signing_alg = match signing_alg(&form) {
        Ok(alg) => alg.unwrap_or_default(),
        Err(e) => return done("/admin/clients", &format!("Not registered: {e}")),
    };
    let request = NewClient {
        client_id: form.get("client_id").unwrap_or("").trim().to_owned(),
        name: form
            .get("name")
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty()),
        kind: match form.get("kind") {
            Some("confidential") => ClientKind::GeneratedSecret,
            Some("private_key_jwt") => ClientKind::PrivateKeyJwt(key_source(&form)),
            _ => ClientKind::Public,
        },
        redirect_uris: lines(&form, "redirect_uris"),
        post_logout_redirect_uris: lines(&form, "post_logout_redirect_uris"),
        grant_types: Some(grants(&form)),
        scopes: form.get("scopes").map(str::to_owned),
        consent_required: form.get("consent") == Some("yes"),
        require_par: form.get("require_par") == Some("yes"),
        backchannel_logout_uri: backchannel_uri(&form),
        signing_alg,
        dpop_bound: form.get("dpop") == Some("yes"),
    };
    let (name, ip, now) = (ctx.session.user.username.clone(), ctx.ip.clone(), ctx.now);
    let outcome = crate::db::run(&state.pool, move |conn| {
        Ok::<_, OAuthError>(admin::create_client(
            conn,
            &Actor {
                name: &name,
                ip: &ip,
            },
            request,
            now,
        ))
    })
    .await;
    match outcome {
        Ok(Ok(r)) => match r.generated_secret {
            Some(secret) => show_secret(
                &ctx,
                "clients",
                "Client registered",
                format!("The client secret of {}:", r.client.client_id),
                secret,
                format!("/admin/clients/{}", r.client.client_id),
            ),
            None => done(
                &format!("/admin/clients/{}", r.client.client_id),
                "Client registered.",
            ),
        },
        Ok(Err(e)) => done("/admin/clients", &format!("Not registered: {e}")),
        Err(e) => internal_error_page(e),
    }
}

/// Shows one client's registration for editing.
pub async fn admin_client_get(
    ctx: AdminCtx,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let found = crate::db::run(&state.pool, move |conn| {
        Ok::<_, OAuthError>(admin::find_client(conn, &id))
    })
    .await;
    let c = match found {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => return done("/admin/clients", &e.to_string()),
        Err(e) => return internal_error_page(e),
    };
    let page = ClientPage {
        section: "clients",
        admin: ctx.session.user.username.clone(),
        flash: ctx.flash.clone(),
        csrf: ctx.csrf.clone(),
        kind: kind(&c),
        auth_method: c.auth_method(),
        // Only a client with a secret has one to rotate.
        confidential: c.auth_method() == "client_secret_basic",
        created: when(ctx.now, c.created_at),
        form: ClientForm::of(&c),
        client_id: c.client_id,
    };
    render_admin(&page, ctx.flash.is_some())
}

/// Saves an edited registration.
pub async fn admin_client_post(
    AdminForm { ctx, form }: AdminForm,
    state: web::Data<AppState>,
    path: web::Path<String>,
) -> HttpResponse {
    let id = path.into_inner();
    let back = format!("/admin/clients/{}", super::path_segment(&id));
    let id_for_cache = id.clone();
    let signing_alg = match signing_alg(&form) {
        Ok(alg) => alg,
        Err(e) => return done(&back, &format!("Not saved: {e}")),
    };
    let (name, ip, now) = (ctx.session.user.username.clone(), ctx.ip.clone(), ctx.now);
    let outcome = crate::db::run(&state.pool, move |conn| {
        let existing = match admin::find_client(conn, &id) {
            Ok(c) => c,
            Err(e) => return Ok::<_, OAuthError>(Err(e)),
        };
        let edit = ClientEdit {
            name: form.get("name").unwrap_or("").to_owned(),
            redirect_uris: lines(&form, "redirect_uris"),
            post_logout_redirect_uris: lines(&form, "post_logout_redirect_uris"),
            grant_types: grants(&form),
            scopes: form.get("scopes").unwrap_or("").to_owned(),
            consent_required: form.get("consent") == Some("yes"),
            require_par: form.get("require_par") == Some("yes"),
            dpop_bound: form.get("dpop") == Some("yes"),
            keys: existing.keys.is_some().then(|| key_source(&form)),
            backchannel_logout_uri: backchannel_uri(&form),
            signing_alg,
        };
        let actor = Actor {
            name: &name,
            ip: &ip,
        };
        Ok(admin::update_client(conn, &actor, &existing, edit, now))
    })
    .await;
    state.clients.invalidate(&id_for_cache);
    match outcome {
        Ok(Ok(())) => done(&back, "Changes saved."),
        Ok(Err(e)) => done(&back, &format!("Not saved: {e}")),
        Err(e) => internal_error_page(e),
    }
}

/// `rotate-secret` or `delete`.
pub async fn admin_client_action_post(
    AdminForm { ctx, .. }: AdminForm,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> HttpResponse {
    let (id, action) = path.into_inner();
    let back = format!("/admin/clients/{}", super::path_segment(&id));
    if action == "rotate-secret" && !ctx.recently_signed_in() {
        return needs_fresh_sign_in(&back);
    }
    let (name, ip, now, ttl) = (
        ctx.session.user.username.clone(),
        ctx.ip.clone(),
        ctx.now,
        state.settings.access_token_ttl,
    );
    let (i2, a2) = (id.clone(), action.clone());
    let outcome = crate::db::run(&state.pool, move |conn| {
        let actor = Actor {
            name: &name,
            ip: &ip,
        };
        Ok::<_, OAuthError>(match a2.as_str() {
            "rotate-secret" => admin::rotate_client_secret(conn, &actor, &i2, now).map(Some),
            "delete" => admin::delete_client(conn, &actor, &i2, ttl, now).map(|_| None),
            _ => Ok(None),
        })
    })
    .await;
    state.clients.invalidate(&id);
    match outcome {
        Ok(Ok(Some(secret))) => show_secret(
            &ctx,
            "clients",
            "Secret rotated",
            format!("The new client secret of {id} (the old one no longer works):"),
            secret,
            back,
        ),
        Ok(Ok(None)) if action == "delete" => done(
            "/admin/clients",
            &format!("Client {id} deleted; its tokens are revoked."),
        ),
        Ok(Ok(None)) => done(&back, "Unknown action."),
        Ok(Err(e)) => done(&back, &e.to_string()),
        Err(e) => internal_error_page(e),
    }
}
