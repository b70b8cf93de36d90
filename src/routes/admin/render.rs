//! Rendering console pages: templates, flash messages, one-time secrets and
//! human-readable times.

use actix_web::HttpResponse;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use askama::Template;

use crate::routes::pages::{html, internal_error_page, redirect};

use super::{AdminCtx, FLASH_COOKIE};

/// Renders an admin page (clearing any flash it showed).
pub fn render_admin(page: &impl Template, showed_flash: bool) -> HttpResponse {
    match page.render() {
        Ok(body) => {
            let mut b = html(StatusCode::OK);
            b.insert_header((header::REFERRER_POLICY, "same-origin"));
            if showed_flash {
                b.cookie(flash_cookie(String::new(), true));
            }
            b.body(body)
        }
        Err(e) => internal_error_page(e),
    }
}

fn flash_cookie(value: String, remove: bool) -> Cookie<'static> {
    let mut c = Cookie::build(FLASH_COOKIE, value)
        .path("/admin")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    if remove {
        c.make_removal();
    }
    c
}

/// A one-time secret page (passwords and client secrets).
#[derive(Template)]
#[template(path = "admin/secret.html")]
pub struct SecretPage {
    pub section: &'static str,
    pub admin: String,
    pub flash: Option<String>,
    pub title: &'static str,
    pub message: String,
    pub secret: String,
    pub back: String,
}

/// Shows a one-time password or client secret, once, in the POST's own
/// response (never through a cookie or a redirect).
pub fn show_secret(
    ctx: &AdminCtx,
    section: &'static str,
    title: &'static str,
    message: String,
    secret: String,
    back: String,
) -> HttpResponse {
    let page = SecretPage {
        section,
        admin: ctx.session.user.username.clone(),
        flash: None,
        title,
        message,
        secret,
        back,
    };
    render_admin(&page, false)
}

/// Redirects after a POST with a message for the next page.
pub fn done(location: &str, message: &str) -> HttpResponse {
    let enc = percent_encoding::utf8_percent_encode(message, percent_encoding::NON_ALPHANUMERIC)
        .to_string();
    redirect(StatusCode::SEE_OTHER, location)
        .cookie(flash_cookie(enc, false))
        .finish()
}

/// Sends the admin to sign in again before a credential-changing action.
pub fn needs_fresh_sign_in(back: &str) -> HttpResponse {
    let enc: String = url::form_urlencoded::byte_serialize(back.as_bytes()).collect();
    done(
        &format!("/login?return_to={enc}"),
        "Sign in again to do this: it needs a sign-in from the last 10 minutes.",
    )
}

/// A value percent-encoded for use as one URL path segment.
pub fn path_segment(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// "2026-11-25 12:03 UTC (3 min ago)" or "(in 2 h)". No-break spaces keep
/// "12:03 UTC" and the age whole when a narrow table column wraps the text.
pub fn when(now: i64, ts: i64) -> String {
    let utc = chrono::DateTime::from_timestamp(ts, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M\u{a0}UTC").to_string())
        .unwrap_or_default();
    format!("{utc} ({})", ago(now, ts).replace(' ', "\u{a0}"))
}

/// A short relative age.
pub fn ago(now: i64, ts: i64) -> String {
    let d = now - ts;
    let (n, future) = (d.abs(), d < 0);
    let span = match n {
        0..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min", n / 60),
        3600..=86_399 => format!("{} h", n / 3600),
        _ => format!("{} d", n / 86_400),
    };
    match (span.as_str(), future) {
        ("just now", _) => span,
        (_, true) => format!("in {span}"),
        (_, false) => format!("{span} ago"),
    }
}

#[cfg(test)]
mod tests {
    use super::{ago, when};

    #[test]
    fn a_time_wraps_only_between_its_date_hour_and_age() {
        let now = 1_764_676_800; // 2025-12-02 12:00 UTC
        let text = when(now, now + 86_400);
        assert_eq!(text, "2025-12-03 12:00\u{a0}UTC (in\u{a0}1\u{a0}d)");
    }

    #[test]
    fn ages_read_naturally() {
        assert_eq!(ago(1000, 1000), "just now");
        assert_eq!(ago(1000 + 180, 1000), "3 min ago");
        assert_eq!(ago(1000, 1000 + 7200), "in 2 h");
        assert_eq!(ago(1000 + 3 * 86_400, 1000), "3 d ago");
    }
}
