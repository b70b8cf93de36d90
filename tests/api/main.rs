//! Integration tests: each starts the real server on a random loopback port
//! with a fresh database (a SQLite file, or a PostgreSQL database when
//! `TESSERA_TEST_BACKEND=postgres`: see `test_db.rs`) and talks HTTP to it.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod admin;
mod admin_browser;
mod authorize;
mod backchannel_logout;
mod bad_input;
mod browser;
mod cli;
mod discovery;
mod dpop;
mod es256;
mod helpers;
mod instances;
mod keys;
mod layout_browser;
mod login;
mod logout;
mod logs;
mod metrics;
mod mfa;
mod mfa_browser;
mod openapi;
mod par;
mod passkeys;
mod posts_browser;
mod private_key_jwt;
mod refresh;
mod revocation;
mod roles;
mod secrets_at_rest;
mod shutdown;
mod test_db;
mod token;
mod userinfo;
mod webdriver;
