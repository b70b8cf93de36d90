//! Refuses a request whose path decodes to a NUL before any handler sees
//! it: no resource name holds one, and PostgreSQL text cannot, so a name
//! taken from such a path would fail its lookup with a 500 there while
//! SQLite found nothing.

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{Error, HttpResponse};

/// The middleware.
pub async fn refuse_nul_in_path(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    if has_nul(req.path()) {
        let res = HttpResponse::BadRequest()
            .content_type("text/plain; charset=utf-8")
            .body("the path contains a NUL character");
        return Ok(req.into_response(res).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn has_nul(path: &str) -> bool {
    path.contains('\0') || percent_encoding::percent_decode_str(path).any(|b| b == 0)
}

#[cfg(test)]
mod tests {
    use super::has_nul;

    #[test]
    fn a_nul_is_found_encoded_in_any_case_or_raw() {
        assert!(has_nul("/admin/users/a%00b"));
        assert!(has_nul("/a\0"));
        assert!(!has_nul("/admin/users/a%2500b"));
        assert!(!has_nul("/admin/users/alice"));
    }
}
