//! An actix-web extractor for access tokens: `Authorization: Bearer`
//! (RFC 6750 §2.1) and, for DPoP-bound tokens, `Authorization: DPoP` with a
//! `DPoP` proof header (RFC 9449 §7), and the 401 challenges of both.
//!
//! A DPoP proof names the URL the client called, so DPoP needs that URL
//! configured with [`VerifierConfig::with_external_base_url`](crate::VerifierConfig::with_external_base_url)
//! (the public one, behind a proxy). It is never taken from the request's
//! `Host` or forwarding headers, which the sender chooses; without it the
//! DPoP scheme is refused.
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

use crate::{Claims, DpopRequest, Verifier, VerifyError};

/// The challenge when no bearer token was sent (RFC 6750 §3.1: no error
/// code then).
const MISSING_TOKEN_CHALLENGE: &str = r#"Bearer realm="api""#;

/// The claims of a verified access token, as a handler argument:
/// `async fn handler(user: Authenticated) -> ...`. A DPoP-bound token is
/// accepted only with the DPoP scheme and a valid proof; as a bearer token
/// it is refused with a DPoP challenge.
///
/// Needs a `web::Data<Verifier>` in the app data. Without a valid token the
/// handler is not called: the response is a 401 with `WWW-Authenticate` and
/// a JSON body `{"error":"invalid_token","error_description":...}`, or, if
/// no token was sent at all, a 401 with `WWW-Authenticate: Bearer
/// realm="api"`, and a second challenge `DPoP realm="api", algs="..."` when
/// DPoP can be checked (an external base URL is configured). When the issuer's keys cannot be fetched the response is a
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
        let presented = presented_token(req);
        let method = req.method().as_str().to_owned();
        // Every DPoP header counts, readable or not: exactly one is allowed.
        let proofs: Vec<Option<String>> = req
            .headers()
            .get_all("DPoP")
            .map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        let url = verifier
            .as_ref()
            .and_then(|v| v.external_base_url())
            .map(|base| format!("{}{}", base.trim_end_matches('/'), req.uri().path()));
        Box::pin(async move {
            let Some(verifier) = verifier else {
                log::error!("Authenticated needs web::Data<Verifier> in the app data");
                return Err(Rejection::NotConfigured.into());
            };
            // DPoP is offered only where it can be checked.
            let no_token = Rejection::NoToken {
                offer_dpop: url.is_some(),
            };
            let (scheme, token) = presented.ok_or(no_token)?;
            let verified = match scheme {
                Scheme::Bearer => verifier.verify(&token).await,
                Scheme::Dpop => match (proofs.as_slice(), url) {
                    (_, None) => {
                        log::error!(
                            "a DPoP token was refused: configure VerifierConfig::with_external_base_url"
                        );
                        Err(VerifyError::InvalidProof)
                    }
                    ([Some(proof)], Some(url)) => {
                        let request = DpopRequest {
                            method: &method,
                            url: &url,
                        };
                        verifier.verify_dpop(&token, proof, &request).await
                    }
                    _ => Err(VerifyError::InvalidProof),
                },
            };
            match verified {
                Ok(claims) => Ok(Authenticated(claims)),
                Err(err) => {
                    log::debug!("access token refused: {err}");
                    Err(Rejection::Invalid(scheme, err).into())
                }
            }
        })
    }
}

/// How the token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

/// The scheme and token of `Authorization: Bearer|DPoP <token>`; the scheme
/// is case-insensitive (RFC 7235 §2.1).
fn presented_token(req: &HttpRequest) -> Option<(Scheme, String)> {
    let value = req.headers().get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    let scheme = if scheme.eq_ignore_ascii_case("Bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("DPoP") {
        Scheme::Dpop
    } else {
        return None;
    };
    (!token.is_empty()).then(|| (scheme, token.to_owned()))
}

/// Why the extractor refused a request.
#[derive(Debug, thiserror::Error)]
enum Rejection {
    #[error("no access token")]
    NoToken { offer_dpop: bool },
    #[error("{1}")]
    Invalid(Scheme, VerifyError),
    #[error("the verifier is not configured")]
    NotConfigured,
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        match self {
            Rejection::NoToken { .. } => StatusCode::UNAUTHORIZED,
            Rejection::Invalid(_, err) if err.is_transient() => StatusCode::SERVICE_UNAVAILABLE,
            Rejection::Invalid(..) => StatusCode::UNAUTHORIZED,
            Rejection::NotConfigured => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Rejection::NoToken { offer_dpop } => {
                response.insert_header((header::WWW_AUTHENTICATE, MISSING_TOKEN_CHALLENGE));
                if *offer_dpop {
                    // Both schemes, DPoP with the algorithms a proof may use
                    // (RFC 9449 §7.1).
                    response.append_header((
                        header::WWW_AUTHENTICATE,
                        format!(
                            r#"DPoP realm="api", algs="{}""#,
                            crate::dpop::algorithm_names()
                        ),
                    ));
                }
                response.finish()
            }
            Rejection::Invalid(_, err) if err.is_transient() => response.json(serde_json::json!({
                "error": "temporarily_unavailable",
                "error_description": err.to_string(),
            })),
            Rejection::Invalid(scheme, err) => {
                // A request made with DPoP is answered in its terms.
                let challenge = match scheme {
                    Scheme::Dpop => err.dpop_challenge(),
                    Scheme::Bearer => err.www_authenticate(),
                };
                response
                    .insert_header((header::WWW_AUTHENTICATE, challenge))
                    .json(serde_json::json!({
                        "error": err.error_code(),
                        "error_description": err.to_string(),
                    }))
            }
            Rejection::NotConfigured => response.finish(),
        }
    }
}
