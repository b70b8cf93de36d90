//! The authorization endpoint's rules (OpenID Connect Core §3.1.2, RFC 6749
//! §4.1.1, RFC 7636): validating the request, deciding whether the user must
//! sign in or consent, and issuing the code. Until the client and redirect URI
//! are known to be good, errors are shown, never redirected (RFC 6749 §4.1.2.1).

use std::collections::HashMap;

use crate::db::auth_codes::{self, AuthCodeRow};
use crate::db::consents;
use crate::db::{Conn, QueryError, clients};

use super::client::{Client, GrantType};
use super::pushed_request::{self, PushedRef};
use super::scope::Scope;
use super::secret;
use super::session::ActiveSession;
use super::{mfa, pkce};

/// How long a code may be redeemed.
pub const CODE_TTL: i64 = 60;

/// What the request asks about re-authentication (OIDC Core §3.1.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Prompt {
    #[default]
    Default,
    None,
    Login,
    Consent,
}

/// A request whose client and redirect URI are valid.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest {
    pub client: Client,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scope: Scope,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    pub login_hint: Option<String>,
    /// `acr_values` asks for a sign-in with a second factor (step-up).
    pub two_factors: bool,
    /// The thumbprint of the DPoP key the code will be bound to (RFC 9449
    /// §10): only a token request proving that key can redeem it.
    pub dpop_jkt: Option<String>,
    /// Set when the parameters came from a pushed request (RFC 9126).
    pub pushed: Option<PushedRef>,
}

/// An authorization error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or redirect URI cannot be trusted: show a page, never redirect.
    Page(String),
    /// Report to the client at its redirect URI.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

/// What the endpoint does next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Show the sign-in page.
    SignIn,
    /// Show the consent page for these scopes.
    Consent,
    /// Redirect to the client with a code.
    Code(String),
}

fn one<'a>(p: &'a HashMap<String, String>, k: &str) -> Option<&'a str> {
    p.get(k).map(String::as_str).filter(|v| !v.is_empty())
}

/// Validates a request as it reached `/authorize`: its own parameters, or
/// those of the pushed request its `request_uri` names.
pub fn validate_arrival(
    conn: &mut Conn,
    params: &HashMap<String, String>,
    now: i64,
) -> Result<Result<AuthorizeRequest, AuthorizeError>, QueryError> {
    let resolved = match pushed_request::resolve(conn, params, now)? {
        Ok(resolved) => resolved,
        Err(e) => return Ok(Err(e)),
    };
    Ok(match resolved {
        // Validated again: the registration may have changed since the push.
        Some(resolved) => match validate(conn, &resolved.params, true) {
            Ok(mut r) if resolved.live => {
                r.pushed = Some(resolved.pushed);
                Ok(r)
            }
            Ok(r) => Err(spent(&r)),
            Err(e) => Err(e),
        },
        None => validate(conn, params, false),
    })
}

/// Validates an authorization request; `pushed` says whether its parameters
/// came over the back channel (RFC 9126), which some clients require.
pub fn validate(
    conn: &mut Conn,
    params: &HashMap<String, String>,
    pushed: bool,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let page = |m: &str| AuthorizeError::Page(m.to_owned());
    let client_id =
        one(params, "client_id").ok_or_else(|| page("The request has no client_id."))?;
    let row = clients::find_client(conn, client_id)
        .map_err(|_| page("The server could not look up the application."))?
        .ok_or_else(|| page("The application is not registered."))?;
    let client =
        Client::from_stored(row).map_err(|_| page("The application's registration is invalid."))?;
    let redirect_uri =
        one(params, "redirect_uri").ok_or_else(|| page("The request has no redirect_uri."))?;
    if !client.redirect_uris.iter().any(|r| r.matches(redirect_uri)) {
        return Err(page(
            "The redirect_uri is not registered for this application.",
        ));
    }
    let state = one(params, "state").map(str::to_owned);
    let fail = |error: &'static str, description: &str| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if params.contains_key("request") {
        return Err(fail(
            "request_not_supported",
            "request objects are not supported",
        ));
    }
    if client.require_par && !pushed {
        return Err(fail(
            "invalid_request",
            "this client must push its authorization requests to the pushed_authorization_request_endpoint",
        ));
    }
    match one(params, "response_type") {
        Some("code") => {}
        None => return Err(fail("invalid_request", "response_type is required")),
        Some(_) => {
            return Err(fail(
                "unsupported_response_type",
                "only response_type=code is supported",
            ));
        }
    }
    if one(params, "response_mode").is_some_and(|m| m != "query") {
        return Err(fail(
            "invalid_request",
            "only response_mode=query is supported",
        ));
    }
    if !client.allows(GrantType::AuthorizationCode) {
        return Err(fail(
            "unauthorized_client",
            "this client may not use the authorization code flow",
        ));
    }
    let scope = Scope::parse(one(params, "scope").unwrap_or(""))
        .map_err(|e| fail("invalid_scope", &e.to_string()))?;
    let missing = scope.missing_from(&client.scopes);
    if !missing.is_empty() {
        return Err(fail(
            "invalid_scope",
            &format!("scope not allowed for this client: {}", missing.join(" ")),
        ));
    }
    let code_challenge = match one(params, "code_challenge") {
        Some(c) => {
            pkce::check_challenge(c, one(params, "code_challenge_method"))
                .map_err(|e| fail("invalid_request", e))?;
            Some(c.to_owned())
        }
        None if client.is_public() => {
            return Err(fail(
                "invalid_request",
                "code_challenge (PKCE, S256) is required",
            ));
        }
        None if params.contains_key("code_challenge_method") => {
            return Err(fail(
                "invalid_request",
                "code_challenge_method without code_challenge",
            ));
        }
        None => None,
    };
    let prompt = match one(params, "prompt") {
        None => Prompt::Default,
        Some("none") => Prompt::None,
        Some("login") => Prompt::Login,
        Some("consent") => Prompt::Consent,
        Some(p) if p.split(' ').any(|v| v == "none") => {
            return Err(fail("invalid_request", "prompt=none cannot be combined"));
        }
        Some(_) => return Err(fail("invalid_request", "unsupported prompt value")),
    };
    let max_age =
        match one(params, "max_age") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|v| *v >= 0).ok_or_else(|| {
                fail("invalid_request", "max_age must be a non-negative integer")
            })?),
        };
    let dpop_jkt = match one(params, "dpop_jkt") {
        Some(jkt) if is_thumbprint(jkt) => Some(jkt.to_owned()),
        Some(_) => {
            return Err(fail(
                "invalid_request",
                "dpop_jkt must be a JWK SHA-256 thumbprint (RFC 7638), base64url",
            ));
        }
        None => None,
    };
    let nonce = one(params, "nonce").map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512)
        || state.as_ref().is_some_and(|s| s.len() > 2048)
    {
        return Err(fail("invalid_request", "state or nonce is too long"));
    }
    Ok(AuthorizeRequest {
        client,
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        scope,
        nonce,
        code_challenge,
        prompt,
        max_age,
        login_hint: one(params, "login_hint").map(str::to_owned),
        two_factors: mfa::asks_for_two_factors(one(params, "acr_values")),
        dpop_jkt,
        pushed: None,
    })
}

/// A SHA-256 thumbprint as RFC 7638 writes it: 32 bytes, base64url.
fn is_thumbprint(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A pushed request that already gave its code, or expired (RFC 9126 §4).
fn spent(req: &AuthorizeRequest) -> AuthorizeError {
    req.error(
        "invalid_request_uri",
        "the request_uri was already used or has expired",
    )
}

impl AuthorizeRequest {
    /// An error to report at the client's redirect URI.
    pub fn error(&self, error: &'static str, description: &str) -> AuthorizeError {
        AuthorizeError::Redirect {
            redirect_uri: self.redirect_uri.clone(),
            state: self.state.clone(),
            error,
            description: description.to_owned(),
        }
    }
}

/// Decides what happens for a validated request, given the browser's live
/// session (if any). The sign-in form drops `prompt=login` when it returns
/// here, so a fresh sign-in satisfies it without looping.
pub fn decide(
    conn: &mut Conn,
    req: &AuthorizeRequest,
    session: Option<&ActiveSession>,
    now: i64,
) -> Result<Result<Next, AuthorizeError>, QueryError> {
    let needs_sign_in = match session {
        None => true,
        Some(s) => {
            let too_old = req.max_age.is_some_and(|m| now - s.session.auth_time > m);
            // The sign-in form drops prompt=login from the query it returns
            // with; a pushed request cannot change, so there the sign-in
            // recorded on it is what satisfies it.
            let signed_in_for_it = req
                .pushed
                .as_ref()
                .is_some_and(|p| p.signed_in_session == Some(s.session.id));
            // A client asking for a second factor gets a sign-in with one
            // (the sign-in form reads `acr_values` too, so this ends).
            let too_weak = req.two_factors && mfa::acr_of(&s.session.amr) != mfa::ACR_TWO_FACTORS;
            too_old || too_weak || (req.prompt == Prompt::Login && !signed_in_for_it)
        }
    };
    if needs_sign_in {
        return Ok(if req.prompt == Prompt::None {
            Err(end(
                conn,
                req,
                "login_required",
                "the user is not signed in",
                now,
            )?)
        } else {
            Ok(Next::SignIn)
        });
    }
    let Some(s) = session else {
        return Ok(Ok(Next::SignIn));
    };
    if req.client.consent_required {
        let granted = consents::find_consent(conn, s.user.id, &req.client.client_id)?
            .and_then(|g| Scope::parse(&g).ok());
        let covered = granted.is_some_and(|g| req.scope.is_subset(&g));
        if !covered || req.prompt == Prompt::Consent {
            return Ok(if req.prompt == Prompt::None {
                Err(end(
                    conn,
                    req,
                    "consent_required",
                    "the user has not consented",
                    now,
                )?)
            } else {
                Ok(Next::Consent)
            });
        }
    }
    Ok(finish(conn, req, s, now)?.map(Next::Code))
}

/// Issues the code for a request, spending it first if it was pushed, in one
/// transaction: a failed insert leaves the pushed request usable.
pub fn finish(
    conn: &mut Conn,
    req: &AuthorizeRequest,
    s: &ActiveSession,
    now: i64,
) -> Result<Result<String, AuthorizeError>, QueryError> {
    crate::db::immediate(conn, |conn| {
        if let Some(pushed) = &req.pushed
            && !pushed_request::spend(conn, pushed, now)?
        {
            return Ok(Err(spent(req)));
        }
        Ok(Ok(issue_code(conn, req, s, now)?))
    })
}

/// Ends a request with an error for the client; a pushed request is spent,
/// so it cannot produce a code after the client was told it failed.
pub fn end(
    conn: &mut Conn,
    req: &AuthorizeRequest,
    error: &'static str,
    description: &str,
    now: i64,
) -> Result<AuthorizeError, QueryError> {
    if let Some(pushed) = &req.pushed {
        pushed_request::spend(conn, pushed, now)?;
    }
    Ok(req.error(error, description))
}

/// Records a user's consent to the requested scopes.
pub fn grant_consent(
    conn: &mut Conn,
    req: &AuthorizeRequest,
    s: &ActiveSession,
    now: i64,
) -> Result<(), QueryError> {
    let mut scope = req.scope.clone();
    if let Some(prev) = consents::find_consent(conn, s.user.id, &req.client.client_id)?
        .and_then(|g| Scope::parse(&g).ok())
    {
        scope = scope.union(&prev);
    }
    consents::upsert_consent(
        conn,
        s.user.id,
        &req.client.client_id,
        &scope.to_string(),
        now,
    )
}

/// Creates a single-use code bound to the client, redirect URI, PKCE
/// challenge, nonce, scope and session. Returns the code (only its hash is kept).
pub fn issue_code(
    conn: &mut Conn,
    req: &AuthorizeRequest,
    s: &ActiveSession,
    now: i64,
) -> Result<String, QueryError> {
    let code = secret::generate_token();
    auth_codes::insert_auth_code(
        conn,
        &AuthCodeRow {
            code_hash: secret::hash_secret(&code).to_vec(),
            client_id: req.client.client_id.clone(),
            session_id: s.session.id,
            redirect_uri: req.redirect_uri.clone(),
            code_challenge: req.code_challenge.clone(),
            dpop_jkt: req.dpop_jkt.clone(),
            nonce: req.nonce.clone(),
            scope: req.scope.to_string(),
            created_at: now,
            expires_at: now + CODE_TTL,
            used_at: None,
            access_jti: None,
            access_expires_at: None,
        },
    )?;
    log::info!(
        "authorization code issued to client {:?} for session {}",
        req.client.client_id,
        s.session.sid
    );
    Ok(code)
}

/// The URL to send the browser back to, with parameters appended to any
/// query the registered URI already has, plus `iss` (RFC 9207).
pub fn redirect_url(redirect_uri: &str, pairs: &[(&str, &str)]) -> String {
    match url::Url::parse(redirect_uri) {
        // Nothing to add: the URI exactly as registered, without a stray `?`.
        Ok(_) if pairs.is_empty() => redirect_uri.to_owned(),
        Ok(mut url) => {
            {
                let mut q = url.query_pairs_mut();
                for (k, v) in pairs {
                    q.append_pair(k, v);
                }
            }
            url.to_string()
        }
        Err(_) => redirect_uri.to_owned(),
    }
}

/// The redirect for an error at a trusted redirect URI.
pub fn error_redirect(err: &AuthorizeError, issuer: &str) -> Option<String> {
    match err {
        AuthorizeError::Redirect {
            redirect_uri,
            state,
            error,
            description,
        } => {
            let mut pairs = vec![
                ("error", *error),
                ("error_description", description.as_str()),
            ];
            if let Some(s) = state {
                pairs.push(("state", s.as_str()));
            }
            pairs.push(("iss", issuer));
            Some(redirect_url(redirect_uri, &pairs))
        }
        AuthorizeError::Page(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_parameters_are_appended_and_encoded() {
        let u = redirect_url(
            "https://app.example/cb?x=1",
            &[("code", "a b"), ("state", "s&t")],
        );
        assert_eq!(u, "https://app.example/cb?x=1&code=a+b&state=s%26t");
        let u = redirect_url("com.example.app:/cb", &[("code", "c")]);
        assert_eq!(u, "com.example.app:/cb?code=c");
        // Nothing appended leaves the URI as registered.
        assert_eq!(
            redirect_url("https://app.example/bye", &[]),
            "https://app.example/bye"
        );
    }
}
