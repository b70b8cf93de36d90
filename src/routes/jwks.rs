//! `GET /jwks.json`: the public signing keys (RFC 7517 §5), cacheable for the
//! configured `max-age`, which is also how long a new key waits before it
//! signs.

use actix_web::{HttpResponse, web};

use crate::domain::error::OAuthError;
use crate::state::AppState;

/// Serves the JWKS.
pub async fn jwks_get(state: web::Data<AppState>) -> Result<HttpResponse, OAuthError> {
    let jwks = state
        .keys
        .jwks(state.clock.now())
        .map_err(OAuthError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((
            "Cache-Control",
            format!("public, max-age={}", state.settings.jwks_max_age),
        ))
        .content_type("application/jwk-set+json")
        .json(jwks))
}
