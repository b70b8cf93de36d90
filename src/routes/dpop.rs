//! Reading the `DPoP` request header and accepting its proof (RFC 9449).

use actix_web::HttpRequest;

use crate::domain::dpop::recorder::Recording;
use crate::domain::dpop::{self, DpopError, Proof, ProofContext, nonce};
use crate::domain::error::OAuthError;
use crate::state::AppState;

/// The request header a proof travels in.
pub const HEADER: &str = "DPoP";
/// The response header a server nonce travels in (§8).
pub const NONCE_HEADER: &str = "DPoP-Nonce";
/// The same, as `HeaderName::from_static` wants it.
pub const NONCE_HEADER_LOWER: &str = "dpop-nonce";

/// The request's proof, if it sent one; two are an error (§4.3 step 1).
pub fn proof_header(req: &HttpRequest) -> Result<Option<String>, OAuthError> {
    let mut values = req.headers().get_all(HEADER);
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(OAuthError::InvalidDpopProof("send one DPoP proof".into()));
    }
    let proof = first
        .to_str()
        .map_err(|_| OAuthError::InvalidDpopProof("the DPoP proof is malformed".into()))?;
    Ok(Some(proof.trim().to_owned()))
}

/// What a proof must satisfy besides the request it is for.
#[derive(Debug, Clone, Default)]
pub struct Expect {
    /// The access token presented with it (`ath`).
    pub access_token: Option<String>,
    /// It must carry a current server nonce.
    pub nonce: bool,
}

/// Checks `proof` for this request to `path` on this server and records it.
pub async fn accept(
    state: &AppState,
    req: &HttpRequest,
    proof: &str,
    path: &str,
    expect: Expect,
) -> Result<Proof, OAuthError> {
    let p = check(state, req, proof, path, expect)?;
    record(state, &p).await?;
    Ok(p)
}

/// Everything about a proof that needs no storage. The request's URL is the
/// issuer's (what the client sees, also behind a proxy) plus `path`. The
/// reason for a refusal goes to the log, not to the client.
pub fn check(
    state: &AppState,
    req: &HttpRequest,
    proof: &str,
    path: &str,
    expect: Expect,
) -> Result<Proof, OAuthError> {
    let url = format!("{}{path}", state.settings.issuer.trim_end_matches('/'));
    let now = state.clock.now();
    let ctx = ProofContext {
        method: req.method().as_str(),
        url: &url,
        access_token: expect.access_token.as_deref(),
    };
    let p = dpop::check(proof, &ctx, now).map_err(|e| refused(e.into()))?;
    let fresh = p
        .nonce
        .as_deref()
        .is_some_and(|n| nonce::is_fresh(&state.rotation, n, now));
    if expect.nonce && !fresh {
        return Err(OAuthError::UseDpopNonce(nonce::current(
            &state.rotation,
            now,
        )));
    }
    Ok(p)
}

/// Records a checked proof; a second use, on any instance, is refused.
pub async fn record(state: &AppState, p: &Proof) -> Result<(), OAuthError> {
    recorded(state.proofs.submit(p)?).await
}

/// Waits for a submitted proof's recording; a replay is refused.
pub async fn recorded(r: Recording) -> Result<(), OAuthError> {
    if r.outcome().await? {
        Ok(())
    } else {
        Err(refused(DpopError::Replayed))
    }
}

/// The nonce to offer in `DPoP-Nonce` now.
pub fn current_nonce(state: &AppState) -> String {
    nonce::current(&state.rotation, state.clock.now())
}

fn refused(e: DpopError) -> OAuthError {
    log::info!("{e}");
    OAuthError::InvalidDpopProof("the DPoP proof is invalid".into())
}
