//! Integration tests: each starts the real server on a random loopback port
//! with a fresh SQLite file and talks HTTP to it.

// A failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod admin;
mod admin_browser;
mod authorize;
mod browser;
mod cli;
mod discovery;
mod helpers;
mod keys;
mod logout;
mod posts_browser;
mod refresh;
mod revocation;
mod roles;
mod token;
mod userinfo;
mod webdriver;
