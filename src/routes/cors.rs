//! CORS for the endpoints a browser app calls directly (discovery,
//! `/token`, `/userinfo`, `/jwks.json`, `/revoke`): only origins of registered
//! redirect URIs, never `*`, never with credentials. CORS is a browser
//! convenience, not a security boundary: these endpoints authenticate anyway.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse, web};

use crate::domain::client;
use crate::domain::error::OAuthError;
use crate::state::AppState;

/// The middleware: answers preflights and tags allowed responses.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let Some(origin) = origin else {
        return next.call(req).await.map(|r| r.map_into_boxed_body());
    };
    let allowed = match req.app_data::<web::Data<AppState>>() {
        Some(state) => {
            let o = origin.clone();
            crate::db::run(&state.pool, move |conn| {
                client::origin_is_registered(conn, &o).map_err(OAuthError::from)
            })
            .await
            .unwrap_or(false)
        }
        None => false,
    };
    if req.method() == Method::OPTIONS {
        let mut res = HttpResponse::build(if allowed {
            StatusCode::NO_CONTENT
        } else {
            StatusCode::FORBIDDEN
        });
        res.insert_header((header::VARY, "Origin"));
        if allowed {
            res.insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, "GET, POST"))
                .insert_header((
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    "Authorization, Content-Type, DPoP",
                ))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"));
        }
        return Ok(req.into_response(res.finish()).map_into_boxed_body());
    }
    let mut res = next.call(req).await?;
    let headers = res.headers_mut();
    headers.insert(header::VARY, header::HeaderValue::from_static("Origin"));
    if let Some(v) = allowed
        .then(|| header::HeaderValue::from_str(&origin).ok())
        .flatten()
    {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, v);
        // A browser client must read these to use DPoP (RFC 9449 §8, §7.1).
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            header::HeaderValue::from_static("DPoP-Nonce, WWW-Authenticate"),
        );
    }
    Ok(res.map_into_boxed_body())
}
