//! `gate`: sign-in in front of the published tree. Password (Argon2id), email links over SMTP,
//! API tokens, Google / OpenID Connect ([`oidc`]), signed session cookies with CSRF tokens,
//! a private overlay for private tables, forward-auth for nginx and Caddy, failed sign-in limits
//! and a JSON-lines audit log. See docs/gate.md.
//!
//! One module per concern; the command line is in [`cli`].

pub mod access;
pub mod audit;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod forward_auth;
pub mod links;
pub mod mail;
pub mod oidc;
pub mod pages;
pub mod password;
pub mod ratelimit;
pub mod server;
pub mod session;
pub mod store;
pub mod tokens;
pub mod tree;
pub mod users;
