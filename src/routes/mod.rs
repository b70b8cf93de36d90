//! HTTP endpoints, one file per endpoint group. Handlers stay thin: they read
//! the request, make one blocking call into the domain and shape the answer.

pub mod account;
pub mod admin;
pub mod authorize;
pub mod client_auth;
pub mod consent;
pub mod cors;
pub mod discovery;
pub mod dpop;
pub mod form;
pub mod health;
pub mod introspect;
pub mod jwks;
pub mod login;
pub mod logout;
pub mod metrics;
pub mod openapi;
pub mod pages;
pub mod par;
pub mod passkeys;
pub mod path_guard;
pub mod request_log;
pub mod responses;
pub mod revocation_feed;
pub mod revoke;
pub mod second_factor;
pub mod signed_in;
pub mod static_files;
pub mod token;
pub mod userinfo;

use actix_web::middleware::from_fn;
use actix_web::web;

use responses::method_not_allowed;

/// Registers every route on an actix service config.
pub fn configure(cfg: &mut web::ServiceConfig) {
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        cfg.service(
            web::resource(path)
                .wrap(from_fn(cors::cors))
                .route(web::get().to(discovery::discovery_get))
                .default_service(method_not_allowed("GET")),
        );
    }
    cfg.service(
        web::resource("/jwks.json")
            .wrap(from_fn(cors::cors))
            .route(web::get().to(jwks::jwks_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/token")
            .wrap(from_fn(cors::cors))
            .route(web::post().to(token::token_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/par")
            .wrap(from_fn(cors::cors))
            .route(web::post().to(par::par_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/userinfo")
            .wrap(from_fn(cors::cors))
            .route(web::get().to(userinfo::userinfo_get))
            .route(web::post().to(userinfo::userinfo_post))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/revoke")
            .wrap(from_fn(cors::cors))
            .route(web::post().to(revoke::revoke_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/introspect")
            .route(web::post().to(introspect::introspect_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/revocations")
            .route(web::get().to(revocation_feed::revocations_get))
            .route(web::post().to(revocation_feed::revocations_post))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/authorize")
            .route(web::get().to(authorize::authorize_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/login")
            .route(web::get().to(login::login_get))
            .route(web::post().to(login::login_post))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/login/verify")
            .route(web::post().to(second_factor::verify_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/consent")
            .route(web::post().to(consent::consent_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/logout")
            .route(web::get().to(logout::logout_get))
            .route(web::post().to(logout::logout_post))
            .default_service(method_not_allowed("GET, POST")),
    )
    .service(
        web::resource("/static/passkeys.js")
            .route(web::get().to(static_files::passkeys_script_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/static/tessera.css")
            .route(web::get().to(static_files::stylesheet_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/metrics")
            .route(web::get().to(metrics::metrics_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/readyz")
            .route(web::get().to(health::readyz_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/openapi.yaml")
            .route(web::get().to(openapi::openapi_get))
            .default_service(method_not_allowed("GET")),
    )
    .configure(admin::configure)
    .configure(account::configure)
    .configure(passkeys::configure)
    .default_service(web::to(responses::not_found));
}
