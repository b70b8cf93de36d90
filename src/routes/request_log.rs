//! Every request gets an id (the client's `X-Request-Id` if well-formed,
//! else a fresh one), returned in the response and carried by every log
//! line the request causes, and one access-log line: peer, method, path
//! (never the query string, which can carry codes or ID tokens), status,
//! size and duration.

use std::time::Instant;

use actix_web::Error;
use actix_web::body::{BodySize, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;

use crate::logging;

/// The request and response header.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// The target of access-log lines, for `RUST_LOG` filters.
pub const ACCESS_LOG: &str = "tessera::access";

/// The middleware.
pub async fn request_log(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let from_client = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok());
    let id = logging::request_id(from_client);
    let started = Instant::now();
    let peer = req
        .peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default();
    let line = format!("{peer} \"{} {}\"", req.method(), req.path());
    logging::in_request(id.clone(), async move {
        let mut res = next.call(req).await?;
        if let Ok(value) = HeaderValue::from_str(&id) {
            res.headers_mut().insert(X_REQUEST_ID, value);
        }
        let route = res.request().match_pattern();
        crate::metrics::request(
            route.as_deref().unwrap_or("unmatched"),
            res.status().as_u16(),
            started.elapsed().as_secs_f64(),
        );
        let size = match res.response().body().size() {
            BodySize::Sized(n) => n.to_string(),
            _ => "-".into(),
        };
        log::info!(
            target: ACCESS_LOG,
            "{line} {} {size} {:.3}ms",
            res.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0
        );
        Ok(res)
    })
    .await
}
