//! `GET /static/tessera.css` and `/static/passkeys.js`: the stylesheet and
//! the passkey ceremonies' script, compiled into the binary so the server
//! ships as one file.

use actix_web::HttpResponse;
use actix_web::http::header;

const CSS: &str = include_str!("../../static/tessera.css");
const PASSKEYS_JS: &str = include_str!("../../static/passkeys.js");

/// Serves the stylesheet.
pub async fn stylesheet_get() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(CSS)
}

/// Serves the passkey script.
pub async fn passkeys_script_get() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/javascript; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(PASSKEYS_JS)
}
