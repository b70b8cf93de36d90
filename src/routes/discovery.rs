//! `GET /.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4)
//! and `GET /.well-known/oauth-authorization-server` (RFC 8414 §3). Lists
//! only what the server implements.

use crate::domain::keys::SigningAlg;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::domain::client::key_set;
use crate::domain::mfa;
use crate::state::AppState;

/// The provider metadata document.
#[derive(Debug, Serialize)]
pub struct Metadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub end_session_endpoint: String,
    pub revocation_endpoint: String,
    pub introspection_endpoint: String,
    pub pushed_authorization_request_endpoint: String,
    /// Tessera's revocation feed for offline verifiers (see the README).
    pub tessera_revocation_feed_endpoint: String,
    pub scopes_supported: Vec<&'static str>,
    pub response_types_supported: Vec<&'static str>,
    pub response_modes_supported: Vec<&'static str>,
    pub grant_types_supported: Vec<&'static str>,
    pub subject_types_supported: Vec<&'static str>,
    pub id_token_signing_alg_values_supported: Vec<&'static str>,
    pub token_endpoint_auth_methods_supported: Vec<&'static str>,
    /// For `private_key_jwt` assertions (RFC 7523).
    pub token_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_methods_supported: Vec<&'static str>,
    pub revocation_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_methods_supported: Vec<&'static str>,
    pub introspection_endpoint_auth_signing_alg_values_supported: Vec<&'static str>,
    pub code_challenge_methods_supported: Vec<&'static str>,
    pub prompt_values_supported: Vec<&'static str>,
    pub claims_supported: Vec<&'static str>,
    /// One factor or two; a client asks for two with `acr_values`.
    pub acr_values_supported: Vec<&'static str>,
    pub authorization_response_iss_parameter_supported: bool,
    pub request_parameter_supported: bool,
    /// Request objects by reference (OIDC Core §6.2): not supported; a
    /// `request_uri` from `/par` works regardless.
    pub request_uri_parameter_supported: bool,
    pub claims_parameter_supported: bool,
    /// Per client (RFC 9126 §5, `--require-par`), never for all.
    pub require_pushed_authorization_requests: bool,
    /// Back-Channel Logout 1.0 §2.1; logout tokens always carry `sid`.
    pub backchannel_logout_supported: bool,
    pub backchannel_logout_session_supported: bool,
    /// RFC 9449 §5.1: what DPoP proofs may be signed with.
    pub dpop_signing_alg_values_supported: Vec<String>,
}

/// Builds the metadata for an issuer.
pub fn metadata(issuer: &str) -> Metadata {
    Metadata {
        issuer: issuer.to_owned(),
        authorization_endpoint: format!("{issuer}/authorize"),
        token_endpoint: format!("{issuer}/token"),
        userinfo_endpoint: format!("{issuer}/userinfo"),
        jwks_uri: format!("{issuer}/jwks.json"),
        end_session_endpoint: format!("{issuer}/logout"),
        revocation_endpoint: format!("{issuer}/revoke"),
        introspection_endpoint: format!("{issuer}/introspect"),
        pushed_authorization_request_endpoint: format!("{issuer}/par"),
        tessera_revocation_feed_endpoint: format!("{issuer}/revocations"),
        scopes_supported: vec!["openid", "profile", "email", "offline_access", "roles"],
        response_types_supported: vec!["code"],
        response_modes_supported: vec!["query"],
        grant_types_supported: vec!["authorization_code", "refresh_token", "client_credentials"],
        subject_types_supported: vec!["public"],
        id_token_signing_alg_values_supported: SigningAlg::ALL.map(SigningAlg::as_str).to_vec(),
        revocation_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        revocation_endpoint_auth_signing_alg_values_supported: key_set::ALGORITHM_NAMES.to_vec(),
        introspection_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        introspection_endpoint_auth_signing_alg_values_supported: key_set::ALGORITHM_NAMES.to_vec(),
        token_endpoint_auth_methods_supported: vec![
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ],
        token_endpoint_auth_signing_alg_values_supported: key_set::ALGORITHM_NAMES.to_vec(),
        code_challenge_methods_supported: vec!["S256"],
        prompt_values_supported: vec!["none", "login", "consent"],
        claims_supported: vec![
            "sub",
            "iss",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "amr",
            "acr",
            "nonce",
            "at_hash",
            "sid",
            "name",
            "preferred_username",
            "email",
            "roles",
        ],
        acr_values_supported: mfa::ACR_VALUES.to_vec(),
        authorization_response_iss_parameter_supported: true,
        request_parameter_supported: false,
        request_uri_parameter_supported: false,
        claims_parameter_supported: false,
        require_pushed_authorization_requests: false,
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
        dpop_signing_alg_values_supported: crate::domain::dpop::ALGORITHMS
            .iter()
            .map(|a| format!("{a:?}"))
            .collect(),
    }
}

/// Serves both discovery documents.
pub async fn discovery_get(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(("Cache-Control", "public, max-age=3600"))
        .json(metadata(&state.settings.issuer))
}
