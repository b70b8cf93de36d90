//! The claims of a verified Tessera access token (RFC 9068 §2.2, with
//! `roles` from RFC 9068 §2.2.3.1 and `sid` from OpenID Connect Front-Channel
//! Logout §3).

use serde::{Deserialize, Deserializer};

/// Claims of an access token that passed [`Verifier::verify`](crate::Verifier::verify).
#[derive(Debug, Clone, Deserialize)]
pub struct Claims {
    /// The issuer.
    pub iss: String,
    /// The subject: a user id, or the client id for client credentials.
    pub sub: String,
    /// The audiences; a single-string `aud` becomes a one-element list.
    #[serde(deserialize_with = "one_or_many")]
    pub aud: Vec<String>,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Issue time, seconds since the Unix epoch.
    pub iat: i64,
    /// The token's unique id.
    pub jti: String,
    /// The client the token was issued to.
    pub client_id: String,
    /// Space-separated granted scopes; see [`Claims::scopes`].
    #[serde(default)]
    pub scope: Option<String>,
    /// The subject's roles (empty when the claim is absent).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The issuer's session id, for tokens issued on a user's sign-in.
    #[serde(default)]
    pub sid: Option<String>,
    /// When the user signed in, seconds since the Unix epoch.
    #[serde(default)]
    pub auth_time: Option<i64>,
    /// The key a DPoP-bound token is bound to (RFC 9449 §6.1).
    #[serde(default)]
    pub cnf: Option<Confirmation>,
}

/// `cnf` (RFC 7800 §3.1) of a DPoP-bound token.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Confirmation {
    /// The RFC 7638 thumbprint of the client's DPoP key.
    pub jkt: String,
}

impl Claims {
    /// The granted scopes (RFC 6749 §3.3: space-delimited).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.scope.as_deref().unwrap_or("").split_ascii_whitespace()
    }

    /// Whether `scope` was granted (exact, case-sensitive match).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// Whether the subject has `role` (exact, case-sensitive match).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }
}

/// RFC 7519 §4.1.3: `aud` is either one string or an array of strings.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(deserializer)? {
        OneOrMany::One(aud) => vec![aud],
        OneOrMany::Many(auds) => auds,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Claims {
        serde_json::from_str(json).unwrap()
    }

    const BASE: &str =
        r#""iss":"http://i","sub":"alice","exp":2,"iat":1,"jti":"j","client_id":"spa""#;

    #[test]
    fn a_single_audience_string_becomes_a_list() {
        let claims = parse(&format!(r#"{{{BASE},"aud":"api"}}"#));
        assert_eq!(claims.aud, ["api"]);
        assert!(claims.roles.is_empty());
        assert_eq!(claims.scopes().count(), 0);
    }

    #[test]
    fn an_audience_array_is_kept() {
        let claims = parse(&format!(r#"{{{BASE},"aud":["api","other"]}}"#));
        assert_eq!(claims.aud, ["api", "other"]);
    }

    #[test]
    fn scopes_and_roles_match_exactly() {
        let claims = parse(&format!(
            r#"{{{BASE},"aud":"api","scope":"openid  reports:read","roles":["admin"]}}"#
        ));
        assert_eq!(
            claims.scopes().collect::<Vec<_>>(),
            ["openid", "reports:read"]
        );
        assert!(claims.has_scope("reports:read"));
        assert!(!claims.has_scope("reports"));
        assert!(claims.has_role("admin"));
        assert!(!claims.has_role("Admin"));
    }
}
