//! OAuth 2.0 / OpenID Connect rules, free of HTTP and HTML.

pub mod bootstrap;
pub mod client;
pub mod clock;
pub mod error;
pub mod flows;
pub mod keys;
pub mod password;
pub mod redirect_uri;
pub mod scope;
pub mod secret;
pub mod tokens;
pub mod user;
