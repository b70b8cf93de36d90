//! Tessera: an OAuth 2.0 / OpenID Connect token server with an embedded store.

// Unit tests may unwrap: a failed unwrap is a failed test.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod cli;
pub mod config;
pub mod db;
pub mod domain;
#[cfg(any(test, feature = "fuzzing"))]
pub mod fuzzing;
pub mod logging;
pub mod metrics;
pub mod routes;
pub mod startup;
pub mod state;
