//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3) with bearer tokens as
//! RFC 6750 describes (header, or form body on POST) and DPoP-bound tokens
//! as RFC 9449 §7 does (`Authorization: DPoP` with a proof); errors in
//! `WWW-Authenticate`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::dpop as dpop_rules;
use crate::domain::error::OAuthError;
use crate::domain::tokens::{AccessTokenClaims, verify_access_token};
use crate::domain::userinfo::{self, UserinfoError};
use crate::state::AppState;

use super::dpop;
use super::form::read_form;

/// How the token was presented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Bearer,
    Dpop,
}

fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> HttpResponse {
    challenge(Scheme::Bearer, status, error, description)
}

/// A challenge's scheme and parameters, before any error.
fn scheme_challenge(scheme: Scheme) -> String {
    match scheme {
        Scheme::Bearer => r#"Bearer realm="tessera""#.to_owned(),
        Scheme::Dpop => format!(
            r#"DPoP realm="tessera", algs="{}""#,
            dpop_rules::algorithm_names()
        ),
    }
}

fn challenge(
    scheme: Scheme,
    status: StatusCode,
    error: Option<&str>,
    description: &str,
) -> HttpResponse {
    let start = scheme_challenge(scheme);
    let challenge = match error {
        Some(e) => format!(r#"{start}, error="{e}", error_description="{description}""#),
        None => start,
    };
    let mut b = HttpResponse::build(status);
    b.insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match error {
        Some(e) => b.json(serde_json::json!({ "error": e, "error_description": description })),
        None => b.finish(),
    }
}

/// No token at all: both schemes are offered, DPoP with the algorithms a
/// proof may use (RFC 9449 §7.1), as two challenges.
fn no_token() -> HttpResponse {
    let mut response = challenge(Scheme::Bearer, StatusCode::UNAUTHORIZED, None, "");
    if let Ok(dpop) = header::HeaderValue::from_str(&scheme_challenge(Scheme::Dpop)) {
        response
            .headers_mut()
            .append(header::WWW_AUTHENTICATE, dpop);
    }
    response
}

fn header_token(req: &HttpRequest) -> Result<Option<(Scheme, String)>, ()> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ())?;
    let (scheme, token) = v.split_once(' ').ok_or(())?;
    let scheme = if scheme.eq_ignore_ascii_case("bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case("dpop") {
        Scheme::Dpop
    } else {
        return Err(());
    };
    match token.trim() {
        "" => Err(()),
        t => Ok(Some((scheme, t.to_owned()))),
    }
}

/// `GET /userinfo`.
pub async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match header_token(&req) {
        Ok(Some((scheme, t))) => answer(&state, &req, scheme, t).await,
        Ok(None) => no_token(),
        Err(()) => bearer_error(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "malformed Authorization header",
        ),
    }
}

/// `POST /userinfo`: the token may also come as the `access_token` form field.
pub async fn userinfo_post(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Payload,
) -> HttpResponse {
    let from_header = match header_token(&req) {
        Ok(t) => t,
        Err(()) => {
            return bearer_error(
                StatusCode::BAD_REQUEST,
                Some("invalid_request"),
                "malformed Authorization header",
            );
        }
    };
    let has_body = req.headers().contains_key(header::CONTENT_TYPE);
    let from_body = if has_body {
        match read_form(&req, body).await {
            Ok(f) => f.get("access_token").map(str::to_owned),
            Err(e) => {
                return bearer_error(
                    StatusCode::BAD_REQUEST,
                    Some("invalid_request"),
                    &e.description(),
                );
            }
        }
    } else {
        None
    };
    match (from_header, from_body) {
        (Some(_), Some(_)) => bearer_error(
            StatusCode::BAD_REQUEST,
            Some("invalid_request"),
            "send the token once",
        ),
        (Some((scheme, t)), None) => answer(&state, &req, scheme, t).await,
        (None, Some(t)) => answer(&state, &req, Scheme::Bearer, t).await,
        (None, None) => no_token(),
    }
}

async fn answer(
    state: &AppState,
    req: &HttpRequest,
    scheme: Scheme,
    token: String,
) -> HttpResponse {
    let now = state.clock.now();
    let claims = match verify_access_token(&state.keys, &state.settings.token_policy(), &token, now)
    {
        Ok(c) => c,
        Err(e) => {
            log::info!("userinfo refused a token: {e}");
            return challenge(
                scheme,
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is invalid",
            );
        }
    };
    if let Err(refused) = check_binding(state, req, scheme, &claims, &token).await {
        return refused;
    }
    let outcome = crate::db::run(&state.pool, move |conn| {
        userinfo::claims(conn, &claims, now).map_err(OAuthError::from)
    })
    .await;
    match outcome {
        Ok(Ok(body)) => HttpResponse::Ok()
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .json(body),
        Ok(Err(UserinfoError::InvalidToken)) => bearer_error(
            StatusCode::UNAUTHORIZED,
            Some("invalid_token"),
            "the access token is invalid",
        ),
        Ok(Err(UserinfoError::InsufficientScope)) => bearer_error(
            StatusCode::FORBIDDEN,
            Some("insufficient_scope"),
            "the openid scope is required",
        ),
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

/// A bound token is used only as `DPoP` with a proof by its key; an unbound
/// one only as `Bearer` (RFC 9449 §7.1). Refusals name the DPoP scheme, so a
/// client learns how to present a bound token.
async fn check_binding(
    state: &AppState,
    req: &HttpRequest,
    scheme: Scheme,
    claims: &AccessTokenClaims,
    token: &str,
) -> Result<(), HttpResponse> {
    let refuse = |error: &str, description: &str| {
        challenge(
            Scheme::Dpop,
            StatusCode::UNAUTHORIZED,
            Some(error),
            description,
        )
    };
    match (&claims.cnf, scheme) {
        (None, Scheme::Bearer) => Ok(()),
        (None, Scheme::Dpop) => Err(refuse(
            "invalid_token",
            "the access token is not DPoP-bound",
        )),
        (Some(_), Scheme::Bearer) => Err(refuse(
            "invalid_token",
            "the access token is DPoP-bound: send it as DPoP with a proof",
        )),
        (Some(cnf), Scheme::Dpop) => {
            let proof = match dpop::proof_header(req) {
                Ok(Some(p)) => p,
                Ok(None) => return Err(refuse("invalid_dpop_proof", "a DPoP proof is required")),
                Err(e) => return Err(refuse("invalid_dpop_proof", &e.description())),
            };
            let expect = dpop::Expect {
                access_token: Some(token.to_owned()),
                nonce: false,
            };
            match dpop::accept(state, req, &proof, "/userinfo", expect).await {
                Ok(p) if p.jkt == cnf.jkt => Ok(()),
                Ok(_) => Err(refuse(
                    "invalid_dpop_proof",
                    "the DPoP proof is not signed by the token's key",
                )),
                Err(OAuthError::InvalidDpopProof(d)) => Err(refuse("invalid_dpop_proof", &d)),
                Err(e) => Err(actix_web::ResponseError::error_response(&e)),
            }
        }
    }
}
