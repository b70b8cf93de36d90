//! Strict reading of `application/x-www-form-urlencoded` request bodies and
//! of client credentials (RFC 6749 §2.3.1, §3.2). Malformed input becomes an
//! `invalid_request`, never a framework error page.

use std::collections::HashMap;

use actix_web::HttpRequest;
use actix_web::http::header;
use actix_web::web::Payload;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use futures_util::StreamExt;
use percent_encoding::percent_decode_str;

use crate::domain::client::ClientCredentials;
use crate::domain::client::assertion::{self, ASSERTION_TYPE};
use crate::domain::error::OAuthError;

/// The largest form body any endpoint accepts.
pub const MAX_FORM_BYTES: usize = 16 * 1024;

/// Parameters of a form body; each name appears at most once (RFC 6749 §3.2).
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses a urlencoded body, refusing invalid UTF-8, bad escapes and
    /// repeated parameters.
    pub fn parse(body: &[u8]) -> Result<Self, OAuthError> {
        let text = std::str::from_utf8(body)
            .map_err(|_| OAuthError::InvalidRequest("the body is not valid UTF-8".into()))?;
        let mut map = HashMap::new();
        for pair in text.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = decode(k)?;
            let v = decode(v)?;
            if map.contains_key(&k) {
                return Err(OAuthError::InvalidRequest(format!(
                    "parameter {k:?} is repeated"
                )));
            }
            map.insert(k, v);
        }
        Ok(Params(map))
    }

    /// A parameter's value; an empty value counts as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Every parameter.
    pub fn as_map(&self) -> &HashMap<String, String> {
        &self.0
    }

    /// A parameter that must be present.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)
            .ok_or_else(|| OAuthError::InvalidRequest(format!("missing parameter {name:?}")))
    }
}

fn decode(s: &str) -> Result<String, OAuthError> {
    let plus = s.replace('+', " ");
    let bytes = plus.as_bytes();
    // Reject '%' not followed by two hex digits instead of passing it through.
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'%'
            && !(i + 2 < bytes.len()
                && bytes[i + 1].is_ascii_hexdigit()
                && bytes[i + 2].is_ascii_hexdigit())
        {
            return Err(OAuthError::InvalidRequest(
                "malformed percent-encoding".into(),
            ));
        }
    }
    let decoded = percent_decode_str(&plus)
        .decode_utf8()
        .map_err(|_| OAuthError::InvalidRequest("a parameter is not valid UTF-8".into()))?;
    // No OAuth parameter may hold a NUL (RFC 6749 Appendix A), and PostgreSQL
    // text cannot: looking one up there fails the query instead of finding
    // nothing. Refused here, every endpoint answers the same on both backends.
    if decoded.contains('\0') {
        return Err(OAuthError::InvalidRequest(
            "a parameter contains a NUL character".into(),
        ));
    }
    Ok(decoded.into_owned())
}

/// Reads a form body from the request, checking its media type and size.
pub async fn read_form(req: &HttpRequest, mut payload: Payload) -> Result<Params, OAuthError> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let media = content_type.split(';').next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_FORM_BYTES) {
        return Err(OAuthError::PayloadTooLarge);
    }
    let mut body = Vec::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| OAuthError::InvalidRequest("unreadable body".into()))?;
        if body.len() + chunk.len() > MAX_FORM_BYTES {
            return Err(OAuthError::PayloadTooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Params::parse(&body)
}

/// Extracts client credentials from `Authorization: Basic`, the body's
/// secret or the body's assertion (RFC 7521 §4.2). Using two methods at
/// once is refused (RFC 6749 §2.3).
pub fn client_credentials(
    req: &HttpRequest,
    params: &Params,
) -> Result<Option<ClientCredentials>, OAuthError> {
    if let Some(assertion) = assertion_credentials(params)? {
        if req.headers().contains_key(header::AUTHORIZATION)
            || params.get("client_secret").is_some()
        {
            return Err(OAuthError::InvalidRequest(
                "use one client authentication method, not two".into(),
            ));
        }
        return Ok(Some(assertion));
    }
    let basic = basic_credentials(req)?;
    let body_id = params.get("client_id");
    let body_secret = params.get("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::InvalidRequest(
            "use one client authentication method, not two".into(),
        )),
        (Some(creds), Some(id), None) => match &creds {
            ClientCredentials::Secret { client_id, .. } if client_id == id => Ok(Some(creds)),
            _ => Err(OAuthError::InvalidRequest(
                "client_id does not match the Authorization header".into(),
            )),
        },
        (Some(creds), None, None) => Ok(Some(creds)),
        (None, Some(id), Some(secret)) => Ok(Some(ClientCredentials::Secret {
            client_id: id.to_owned(),
            secret: secret.to_owned(),
        })),
        (None, Some(id), None) => Ok(Some(ClientCredentials::IdOnly {
            client_id: id.to_owned(),
        })),
        (None, None, Some(_)) => Err(OAuthError::InvalidRequest(
            "client_secret without client_id".into(),
        )),
        (None, None, None) => Ok(None),
    }
}

/// `private_key_jwt`: `client_assertion_type` and `client_assertion`. The
/// client is the one `client_id` names, or else the assertion's `sub`; the
/// assertion itself is checked later, against that client's keys.
fn assertion_credentials(params: &Params) -> Result<Option<ClientCredentials>, OAuthError> {
    let (kind, assertion) = (
        params.get("client_assertion_type"),
        params.get("client_assertion"),
    );
    let assertion = match (kind, assertion) {
        (None, None) => return Ok(None),
        (Some(ASSERTION_TYPE), Some(a)) => a,
        (Some(ASSERTION_TYPE), None) | (None, Some(_)) => {
            return Err(OAuthError::InvalidRequest(
                "client_assertion and client_assertion_type go together".into(),
            ));
        }
        (Some(_), _) => return Err(OAuthError::InvalidClient),
    };
    let claimed = assertion::claimed_client(assertion);
    let client_id = match (params.get("client_id"), claimed) {
        (Some(id), Some(sub)) if id != sub => return Err(OAuthError::InvalidClient),
        (Some(id), _) => id.to_owned(),
        (None, Some(sub)) => sub,
        (None, None) => return Err(OAuthError::InvalidClient),
    };
    Ok(Some(ClientCredentials::Assertion {
        client_id,
        assertion: assertion.to_owned(),
    }))
}

/// `client_secret_basic`: both halves are form-urlencoded before base64 (§2.3.1).
fn basic_credentials(req: &HttpRequest) -> Result<Option<ClientCredentials>, OAuthError> {
    let Some(value) = req.headers().get(header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| OAuthError::InvalidClient)?;
    parse_basic(value).map(Some)
}

/// Reads an `Authorization: Basic` value into a client id and secret.
pub fn parse_basic(value: &str) -> Result<ClientCredentials, OAuthError> {
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(OAuthError::InvalidClient);
    };
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::InvalidClient);
    }
    let decoded = STANDARD
        .decode(rest.trim())
        .map_err(|_| OAuthError::InvalidClient)?;
    let decoded = String::from_utf8(decoded).map_err(|_| OAuthError::InvalidClient)?;
    let (id, secret) = decoded.split_once(':').ok_or(OAuthError::InvalidClient)?;
    let id = decode(id).map_err(|_| OAuthError::InvalidClient)?;
    let secret = decode(secret).map_err(|_| OAuthError::InvalidClient)?;
    if id.is_empty() {
        return Err(OAuthError::InvalidClient);
    }
    Ok(ClientCredentials::Secret {
        client_id: id,
        secret,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_form_body_is_decoded() {
        let p = Params::parse(b"grant_type=client_credentials&scope=a+b%3Ac").unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), Some("a b:c"));
        assert_eq!(p.get("missing"), None);
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse(b"scope=a&scope=b").is_err());
    }

    #[test]
    fn invalid_utf8_and_bad_escapes_are_refused() {
        assert!(Params::parse(b"a=\xff").is_err());
        assert!(Params::parse(b"a=%ff").is_err());
        assert!(Params::parse(b"a=%zz").is_err());
        assert!(Params::parse(b"a=%4").is_err());
    }

    #[test]
    fn nul_characters_are_refused() {
        assert!(Params::parse(b"client_id=a%00b").is_err());
        assert!(Params::parse(b"a%00=b").is_err());
        assert!(Params::parse(b"a=b\0").is_err());
    }

    #[test]
    fn empty_values_count_as_absent() {
        let p = Params::parse(b"scope=&x").unwrap();
        assert_eq!(p.get("scope"), None);
        assert!(p.require("scope").is_err());
    }
}
