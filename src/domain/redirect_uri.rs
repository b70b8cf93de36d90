//! Redirect URIs: validated at registration, then matched by exact string
//! comparison (RFC 9700 §4.1.3), so no pattern or prefix can widen them.

use url::Url;

/// A registered redirect (or post-logout redirect) URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectUri(String);

/// Why a URI cannot be registered.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RedirectUriError {
    #[error("{0:?} is not an absolute URI")]
    NotAbsolute(String),
    #[error("{0:?} has a fragment; redirect URIs must not")]
    Fragment(String),
    #[error("{0:?} uses plain http on a non-loopback host; use https")]
    InsecureHttp(String),
    #[error("{0:?} has credentials in it")]
    Credentials(String),
}

impl RedirectUri {
    /// Validates a URI for registration: absolute, no fragment, no userinfo,
    /// https (or http on a loopback address, or a private-use scheme for
    /// native apps, RFC 8252 §7.1).
    pub fn parse(s: &str) -> Result<Self, RedirectUriError> {
        let url = Url::parse(s).map_err(|_| RedirectUriError::NotAbsolute(s.to_owned()))?;
        if url.fragment().is_some() || s.contains('#') {
            return Err(RedirectUriError::Fragment(s.to_owned()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(RedirectUriError::Credentials(s.to_owned()));
        }
        match url.scheme() {
            "https" => {}
            "http" => {
                let loopback = matches!(
                    url.host(),
                    Some(url::Host::Domain("localhost"))
                        | Some(url::Host::Ipv4(std::net::Ipv4Addr::LOCALHOST))
                        | Some(url::Host::Ipv6(std::net::Ipv6Addr::LOCALHOST))
                );
                if !loopback {
                    return Err(RedirectUriError::InsecureHttp(s.to_owned()));
                }
            }
            scheme if scheme.contains('.') => {}
            _ => return Err(RedirectUriError::NotAbsolute(s.to_owned())),
        }
        // Stored as given: matching compares the exact string the client registered.
        Ok(RedirectUri(s.to_owned()))
    }

    /// The URI as registered.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Exact string match (RFC 6749 §3.1.2.3 as tightened by RFC 9700).
    pub fn matches(&self, presented: &str) -> bool {
        self.0 == presented
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_loopback_http_and_private_schemes_are_accepted() {
        for ok in [
            "https://app.example.com/cb",
            "http://127.0.0.1:3000/cb",
            "http://localhost/cb",
            "http://[::1]:8000/cb",
            "com.example.app:/oauth2redirect",
        ] {
            assert!(RedirectUri::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn unsafe_uris_are_refused() {
        assert!(matches!(
            RedirectUri::parse("/relative"),
            Err(RedirectUriError::NotAbsolute(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://a.example/cb#x"),
            Err(RedirectUriError::Fragment(_))
        ));
        assert!(matches!(
            RedirectUri::parse("http://evil.example/cb"),
            Err(RedirectUriError::InsecureHttp(_))
        ));
        assert!(matches!(
            RedirectUri::parse("https://u:p@a.example/cb"),
            Err(RedirectUriError::Credentials(_))
        ));
        assert!(RedirectUri::parse("javascript:alert(1)").is_err());
    }

    #[test]
    fn matching_is_exact() {
        let r = RedirectUri::parse("https://app.example.com/cb").unwrap();
        assert!(r.matches("https://app.example.com/cb"));
        assert!(!r.matches("https://app.example.com/cb/"));
        assert!(!r.matches("https://app.example.com/cb?x=1"));
        assert!(!r.matches("HTTPS://app.example.com/cb"));
    }
}
