//! HTTP endpoints, one file per endpoint group. Handlers stay thin: they read
//! the request, make one blocking call into the domain and shape the answer.

pub mod discovery;
pub mod form;
pub mod health;
pub mod jwks;
pub mod responses;
pub mod token;

use actix_web::web;

use responses::method_not_allowed;

/// Registers every route on an actix service config.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/.well-known/openid-configuration")
            .route(web::get().to(discovery::discovery_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/.well-known/oauth-authorization-server")
            .route(web::get().to(discovery::discovery_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/jwks.json")
            .route(web::get().to(jwks::jwks_get))
            .default_service(method_not_allowed("GET")),
    )
    .service(
        web::resource("/token")
            .route(web::post().to(token::token_post))
            .default_service(method_not_allowed("POST")),
    )
    .service(
        web::resource("/healthz")
            .route(web::get().to(health::healthz_get))
            .default_service(method_not_allowed("GET")),
    )
    .default_service(web::to(responses::not_found));
}
