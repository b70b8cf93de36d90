//! Integration tests: each starts a fake issuer on a random loopback port
//! and verifies tokens against it over real HTTP.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[cfg(feature = "actix")]
mod actix;
mod discovery;
mod dpop;
mod helpers;
mod keys;
mod revocation;
mod verify;
