//! # rsvp-local
//!
//! rsvp on a laptop: every route of [`rsvp::routes::ROUTES`] on one port, the embedded
//! [`rsvp::store::sqlite::SqliteStore`] (`rsvp.db` in the data folder), and bearer tokens minted and checked here.
//!
//! The server plays API Gateway's part exactly: it routes, verifies the bearer token as the JWT authorizer would,
//! builds the HTTP API (payload 2.0) event and hands it to the operation through `lambda_http`, so the handlers
//! run the same code path as in Lambda. A request without a valid token still reaches its operation, which
//! answers 401 itself: one place decides.
//!
//! | module | what it holds |
//! |---|---|
//! | [`token`] | [`SigningKey`] and [`TokenClaims`]: minting and verifying HS256 tokens |
//! | [`event`] | the API Gateway event for a request |
//! | [`server`] | [`Server`]: accept, route, refuse what API Gateway would, invoke, answer |
//! | [`mail`] | the outbox consumer in-process: invitation emails as `.eml` files, one printed line each |
//! | [`events`] | every change's events, in order: `events.jsonl`, and a signed webhook POST with `--webhook` |
//! | [`identity`] | a minimal OAuth client-credentials provider: `rsvp-local client`, discovery and token endpoints |
//! | [`portal`] | the server as a portal (`--portal-url`): its identity kept in the data directory |
//! | [`tls`] | HTTPS (`--tls`): the self-signed certificate kept in the data directory |

pub mod event;
pub mod events;
pub mod identity;
pub mod mail;
pub mod portal;
pub mod server;
pub mod tls;
pub mod token;

pub use server::Server;
pub use token::{SigningKey, TokenClaims};
