//! The HTTP client and the GET-a-JSON-document helper shared by discovery
//! (OpenID Connect Discovery 1.0 §4), the JWKS and the revocation feed.

use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, HeaderMap};

use crate::error::SetupError;

/// Bounds every request, so a hung issuer cannot hold the JWKS refetch (and
/// with it every verification waiting on a new key) for ever.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Builds the client used for all requests to the issuer.
pub(crate) fn client() -> Result<reqwest::Client, SetupError> {
    reqwest::Client::builder()
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(REQUEST_TIMEOUT)
        // The endpoints come from the discovery document, which is
        // authoritative; not following redirects also keeps the feed's
        // client credentials from being sent anywhere else.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("tessera-verifier/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SetupError::Http(e.to_string()))
}

/// A successful response body and its `Cache-Control` value.
pub(crate) struct Fetched {
    pub body: Vec<u8>,
    pub cache_control: Option<String>,
}

/// Sends `request` and returns the body of a 2xx response.
/// `what` names the document in errors; it never contains credentials.
pub(crate) async fn fetch(
    request: reqwest::RequestBuilder,
    what: &str,
) -> Result<Fetched, SetupError> {
    let response = request
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| SetupError::Http(format!("{what}: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(SetupError::Http(format!("{what}: status {status}")));
    }
    let cache_control = cache_control_of(response.headers());
    let body = response
        .bytes()
        .await
        .map_err(|e| SetupError::Http(format!("{what}: {e}")))?;
    Ok(Fetched {
        body: body.to_vec(),
        cache_control,
    })
}

fn cache_control_of(headers: &HeaderMap) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(CACHE_CONTROL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}
