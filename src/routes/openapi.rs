//! `GET /openapi.yaml`: the OpenAPI 3.1 description of the JSON endpoints,
//! compiled into the binary so the server ships as one file and always
//! serves the description of the code it runs.

use actix_web::HttpResponse;

/// The document, kept at the repository root.
pub const OPENAPI_YAML: &str = include_str!("../../openapi.yaml");

/// Serves the description (media type from RFC 9512).
pub async fn openapi_get() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/yaml")
        .body(OPENAPI_YAML)
}
