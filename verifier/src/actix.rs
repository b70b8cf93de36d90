//! An actix-web extractor for bearer tokens: the `Authorization: Bearer`
//! header (RFC 6750 §2.1) and the 401 challenges (RFC 6750 §3).
//!
//! ```no_run
//! use actix_web::{App, HttpResponse, HttpServer, web};
//! use tessera_verifier::actix::Authenticated;
//! use tessera_verifier::{Verifier, VerifierConfig};
//!
//! async fn reports(user: Authenticated) -> HttpResponse {
//!     if !user.has_scope("reports:read") {
//!         return HttpResponse::Forbidden().finish();
//!     }
//!     HttpResponse::Ok().body(format!("reports for {}", user.sub))
//! }
//!
//! #[actix_web::main]
//! async fn main() -> std::io::Result<()> {
//!     let config = VerifierConfig::new("https://login.example.com", "reports-api");
//!     let verifier = Verifier::discover(config).await.map_err(std::io::Error::other)?;
//!     let verifier = web::Data::new(verifier);
//!     HttpServer::new(move || {
//!         App::new()
//!             .app_data(verifier.clone())
//!             .route("/reports", web::get().to(reports))
//!     })
//!     .bind(("127.0.0.1", 8081))?
//!     .run()
//!     .await
//! }
//! ```

use std::future::Future;
use std::ops::Deref;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};

use crate::{Claims, Verifier, VerifyError};

/// The challenge when no bearer token was sent (RFC 6750 §3.1: no error
/// code then).
const MISSING_TOKEN_CHALLENGE: &str = r#"Bearer realm="api""#;

/// The claims of a verified bearer token, as a handler argument:
/// `async fn handler(user: Authenticated) -> ...`.
///
/// Needs a `web::Data<Verifier>` in the app data. Without a valid token the
/// handler is not called: the response is a 401 with `WWW-Authenticate` and
/// a JSON body `{"error":"invalid_token","error_description":...}`, or, if
/// no token was sent at all, a 401 with `WWW-Authenticate: Bearer
/// realm="api"`. When the issuer's keys cannot be fetched the response is a
/// 503 instead, so clients keep their (probably valid) tokens.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Claims);

impl Deref for Authenticated {
    type Target = Claims;

    fn deref(&self) -> &Claims {
        &self.0
    }
}

impl FromRequest for Authenticated {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        let verifier = req.app_data::<web::Data<Verifier>>().cloned();
        let token = bearer_token(req).map(str::to_owned);
        Box::pin(async move {
            let Some(verifier) = verifier else {
                log::error!("Authenticated needs web::Data<Verifier> in the app data");
                return Err(Rejection::NotConfigured.into());
            };
            let token = token.ok_or(Rejection::NoToken)?;
            match verifier.verify(&token).await {
                Ok(claims) => Ok(Authenticated(claims)),
                Err(err) => {
                    log::debug!("bearer token refused: {err}");
                    Err(Rejection::Invalid(err).into())
                }
            }
        })
    }
}

/// The token from `Authorization: Bearer <token>`; the scheme is
/// case-insensitive (RFC 7235 §2.1).
fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("Bearer") && !token.is_empty()).then_some(token)
}

/// Why the extractor refused a request.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error("no bearer token")]
    NoToken,
    #[error(transparent)]
    Invalid(VerifyError),
    #[error("the verifier is not configured")]
    NotConfigured,
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match self {
            Rejection::NoToken => StatusCode::UNAUTHORIZED,
            Rejection::Invalid(err) if err.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::Invalid(_) => StatusCode::UNAUTHORIZED,
            Rejection::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Rejection::NoToken => response
                .insert_header((header::WWW_AUTHENTICATE, MISSING_TOKEN_CHALLENGE))
                .finish(),
            Rejection::Invalid(err) if err.is_transient() => response.json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": err.to_string(),
            })),
            Rejection::Invalid(err) => response
                .insert_header((header::WWW_AUTHENTICATE, err.www_authenticate()))
                .json(serde_json::json!({
                    "error": "invalid_token",
                    "error_description": err.to_string(),
                })),
            Rejection::NotConfigured => response.finish(),
        }
    }
}
