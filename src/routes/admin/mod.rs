//! The admin console under `/admin`: server-rendered pages that work without
//! JavaScript. Every page needs a signed-in admin; every change is a POST
//! carrying a CSRF token bound to the session and passing a same-origin check.

pub mod audit;
pub mod clients;
pub mod keys;
mod render;
pub mod sessions;
pub mod users;

use actix_web::http::StatusCode;
use actix_web::web;

use super::pages::error_page;

pub use super::signed_in::{AdminCtx, AdminForm, FLASH_COOKIE, RECENT_SIGN_IN};
pub use render::{ago, done, needs_fresh_sign_in, path_segment, render_admin, show_secret, when};

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/admin")
            .route("", web::get().to(sessions::admin_sessions_get))
            .route("/", web::get().to(sessions::admin_sessions_get))
            .route(
                "/sessions/{id}/revoke",
                web::post().to(sessions::admin_session_revoke_post),
            )
            .route("/users", web::get().to(users::admin_users_get))
            .route("/users", web::post().to(users::admin_users_post))
            .route("/users/{username}", web::get().to(users::admin_user_get))
            .route(
                "/users/{username}/{action}",
                web::post().to(users::admin_user_action_post),
            )
            .route("/clients", web::get().to(clients::admin_clients_get))
            .route("/clients", web::post().to(clients::admin_clients_post))
            .route("/clients/{id}", web::get().to(clients::admin_client_get))
            .route("/clients/{id}", web::post().to(clients::admin_client_post))
            .route(
                "/clients/{id}/{action}",
                web::post().to(clients::admin_client_action_post),
            )
            .route("/keys", web::get().to(keys::admin_keys_get))
            .route("/keys/rotate", web::post().to(keys::admin_keys_rotate_post))
            .route(
                "/keys/rotate-now",
                web::post().to(keys::admin_keys_rotate_now_post),
            )
            .route("/keys/revoke", web::post().to(keys::admin_keys_revoke_post))
            .route("/audit", web::get().to(audit::admin_audit_get))
            .default_service(web::to(|| async {
                error_page(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    "There is no such admin page.",
                )
            })),
    );
}
