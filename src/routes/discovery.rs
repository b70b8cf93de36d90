//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4)
//! and `GET /.well-known/oauth-authorization-server` (RFC 8414 §3). Lists
//! only what the server implements.

use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::state::AppState;

/// The provider metadata document.
#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub jwks_uri: String,
    pub token_endpoint: String,
    pub grant_types_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
}

/// Builds the metadata for an issuer.
pub fn metadata(issuer: &str) -> Metadata {
    Metadata {
        issuer: issuer.to_owned(),
        jwks_uri: format!("{issuer}/jwks.json"),
        token_endpoint: format!("{issuer}/token"),
        grant_types_supported: vec!["client_credentials"],
        token_endpoint_auth_methods_supported: vec!["client_secret_basic", "client_secret_post"],
    }
}

/// Serves both discovery documents.
pub async fn discovery_get(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(metadata(&state.settings.issuer))
}
