//! `GET`/`POST /userinfo` (OpenID Connect Core §5.3) with bearer tokens as
//! RFC 6750 describes: header, or form body on POST; errors in
//! `WWW-Authenticate`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::error::OAuthError;
use crate::domain::tokens::verify_access_token;
use crate::domain::userinfo::{self, UserinfoError};
use crate::state::AppState;

use super::form::read_form;

fn bearer_error(status: StatusCode, error: Option<&str>, description: &str) -> HttpResponse {
    let challenge = match error {
        Some(e) => {
            format!(r#"Bearer realm="tessera", error="{e}", error_description="{description}""#)
        }
        None => r#"Bearer realm="tessera""#.to_owned(),
    };
    let mut b = HttpResponse::build(status);
    b.insert_header((header::WWW_AUTHENTICATE, challenge))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    match error {
        Some(e) => b.json(serde_json::json!({ "error": e, "error_description": description })),
        None => b.finish(),
    }
}

fn header_token(req: &HttpRequest) -> Result<Option<String>, ()> {
    let Some(v) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let v = v.to_str().map_err(|_| ())?;
    match v.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(Some(token.trim().to_owned()))
        }
        _ => Err(()),
    }
}

/// `GET /userinfo`.
pub async fn userinfo_get(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    match header_token(&req) {
        Ok(Some(t)) => answer(&state, t).await,
        Ok(None) => bearer_error(StatusCode::UNAUTHORIZED, None, ""),
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
        (Some(t), None) | (None, Some(t)) => answer(&state, t).await,
        (None, None) => bearer_error(StatusCode::UNAUTHORIZED, None, ""),
    }
}

async fn answer(state: &AppState, token: String) -> HttpResponse {
    let now = state.clock.now();
    let claims = match verify_access_token(&state.keys, &state.settings.token_policy(), &token, now)
    {
        Ok(c) => c,
        Err(e) => {
            log::info!("userinfo refused a token: {e}");
            return bearer_error(
                StatusCode::UNAUTHORIZED,
                Some("invalid_token"),
                "the access token is invalid",
            );
        }
    };
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
