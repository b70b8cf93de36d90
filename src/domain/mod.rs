//! OAuth 2.0 / OpenID Connect rules, free of HTTP and HTML.

pub mod admin;
pub mod at_rest;
pub mod audit;
pub mod authorize;
pub mod bootstrap;
pub mod client;
pub mod client_cache;
pub mod clock;
pub mod error;
pub mod flows;
pub mod housekeeping;
pub mod introspection;
pub mod keys;
pub mod login;
pub mod logout;
pub mod password;
pub mod pkce;
pub mod pushed_request;
pub mod redirect_uri;
pub mod revocation;
pub mod scope;
pub mod secret;
pub mod session;
pub mod tokens;
pub mod user;
pub mod userinfo;
