//! The grant flows of the token endpoint.

pub mod client_credentials;
