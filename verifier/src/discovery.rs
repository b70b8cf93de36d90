//! Reading the issuer's metadata (OpenID Connect Discovery 1.0 §4) and
//! checking that it speaks for the configured issuer (§4.3).

use serde::Deserialize;

use crate::error::SetupError;
use crate::http;

/// The metadata members the verifier uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    pub issuer: String,
    pub jwks_uri: String,
    /// Tessera's extension: where the revocation feed is served.
    #[serde(default)]
    pub tessera_revocation_feed_endpoint: Option<String>,
}

/// GETs `{issuer}/.well-known/openid-configuration` and checks that its
/// `issuer` is exactly the configured one; otherwise another server's keys
/// could end up trusted for this issuer's tokens.
pub(crate) async fn fetch_metadata(
    client: &reqwest::Client,
    issuer: &str,
) -> Result<Metadata, SetupError> {
    // §4: a trailing slash is removed before appending the well-known path.
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let fetched = http::fetch(client.get(&url), "discovery document").await?;
    let metadata: Metadata =
        serde_json::from_slice(&fetched.body).map_err(|e| SetupError::Discovery(e.to_string()))?;
    if metadata.issuer != issuer {
        return Err(SetupError::Discovery(format!(
            "the document is for issuer {:?}, not {issuer:?}",
            metadata.issuer
        )));
    }
    Ok(metadata)
}
