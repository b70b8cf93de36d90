//! Scope lists (RFC 6749 §3.3): space-separated, case-sensitive tokens.

use std::collections::BTreeSet;
use std::fmt;

/// Scopes that only make sense when a user signs in; a client acting for
/// itself (`client_credentials`) can never be granted them.
pub const USER_SCOPES: [&str; 4] = ["openid", "profile", "email", "offline_access"];

/// A validated, de-duplicated set of scope tokens.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope(BTreeSet<String>);

/// Why a scope string was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("invalid scope token {0:?}")]
pub struct ScopeError(String);

impl Scope {
    /// Parses a space-separated list, refusing characters outside RFC 6749's
    /// `scope-token` grammar (%x21 / %x23-5B / %x5D-7E).
    pub fn parse(s: &str) -> Result<Self, ScopeError> {
        let mut set = BTreeSet::new();
        for token in s.split(' ').filter(|t| !t.is_empty()) {
            let valid = token
                .bytes()
                .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid || token.len() > 128 {
                return Err(ScopeError(token.chars().take(40).collect()));
            }
            set.insert(token.to_owned());
        }
        Ok(Scope(set))
    }

    /// True when no token is present.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// True when `token` is in the set.
    pub fn contains(&self, token: &str) -> bool {
        self.0.contains(token)
    }

    /// True when every token of `self` is also in `other`.
    pub fn is_subset(&self, other: &Scope) -> bool {
        self.0.is_subset(&other.0)
    }

    /// The tokens of `self` that `other` lacks.
    pub fn missing_from<'a>(&'a self, other: &Scope) -> Vec<&'a str> {
        self.0
            .iter()
            .filter(|t| !other.0.contains(*t))
            .map(String::as_str)
            .collect()
    }

    /// `self` without the user-only scopes.
    pub fn without_user_scopes(&self) -> Scope {
        Scope(
            self.0
                .iter()
                .filter(|t| !USER_SCOPES.contains(&t.as_str()))
                .cloned()
                .collect(),
        )
    }

    /// Every token of either set.
    pub fn union(&self, other: &Scope) -> Scope {
        Scope(self.0.union(&other.0).cloned().collect())
    }

    /// The tokens, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for t in &self.0 {
            if !first {
                f.write_str(" ")?;
            }
            f.write_str(t)?;
            first = false;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsing_deduplicates_and_sorts() {
        let s = Scope::parse("b a  b").unwrap();
        assert_eq!(s.to_string(), "a b");
    }

    #[test]
    fn characters_outside_the_grammar_are_refused() {
        assert!(Scope::parse("ok \"quoted\"").is_err());
        assert!(Scope::parse("back\\slash").is_err());
        assert!(Scope::parse("tab\there").is_err());
        assert!(Scope::parse("posts:write api.read").is_ok());
    }

    #[test]
    fn subset_and_user_scope_filtering() {
        let allowed = Scope::parse("openid profile posts:read posts:write").unwrap();
        let asked = Scope::parse("posts:read").unwrap();
        assert!(asked.is_subset(&allowed));
        assert!(!allowed.is_subset(&asked));
        assert_eq!(
            allowed.without_user_scopes().to_string(),
            "posts:read posts:write"
        );
        assert_eq!(
            Scope::parse("admin").unwrap().missing_from(&allowed),
            vec!["admin"]
        );
    }
}
