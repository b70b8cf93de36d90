//! How protocol errors become HTTP responses (RFC 6749 §5.2): a JSON body
//! `{error, error_description}`, `Cache-Control: no-store`, 401 with
//! `WWW-Authenticate` for failed client authentication, and a logged but
//! never revealed cause for internal failures.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::error::OAuthError;

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
    error_description: String,
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            OAuthError::InvalidClient => StatusCode::UNAUTHORIZED,
            OAuthError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            OAuthError::NotFound => StatusCode::NOT_FOUND,
            OAuthError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            OAuthError::TemporarilyUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            OAuthError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OAuthError::Internal(cause) = self {
            log::error!("internal error: {}", error_chain(cause.as_ref()));
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CACHE_CONTROL, "no-store"))
            .insert_header((header::PRAGMA, "no-cache"));
        match self {
            OAuthError::InvalidClient => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(r#"Basic realm="tessera", charset="UTF-8""#),
                ));
            }
            OAuthError::MethodNotAllowed(allowed) => {
                res.insert_header((header::ALLOW, *allowed));
            }
            OAuthError::UseDpopNonce(nonce) => {
                res.insert_header((super::dpop::NONCE_HEADER, nonce.as_str()));
            }
            OAuthError::TemporarilyUnavailable => {
                res.insert_header((header::RETRY_AFTER, "1"));
            }
            _ => {}
        }
        res.json(ErrorBody {
            error: self.code(),
            error_description: self.description(),
        })
    }
}

/// The full cause chain of an error, for the log only.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cur = c.source();
    }
    out
}

/// The fallback for paths no route serves.
pub async fn not_found() -> Result<HttpResponse, OAuthError> {
    Err(OAuthError::NotFound)
}

/// The fallback for a known path asked with a method it does not serve.
pub fn method_not_allowed(allowed: &'static str) -> actix_web::Route {
    actix_web::web::to(move || async move {
        Err::<HttpResponse, _>(OAuthError::MethodNotAllowed(allowed))
    })
}

/// A `200 OK` JSON response that must never be cached (token responses).
pub fn no_store_json<T: Serialize>(body: &T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .json(body)
}
