//! The HTTP foundation every HTTP system (the generic REST system, Tryton,
//! presets) is built on:
//!
//! - [`build_client`]: the one reqwest client (rustls, gzip, JSON, connect
//!   and total timeouts, user agent `Trueup/<version>`), blocking so that
//!   connectors run on plain threads (see [`client`]);
//! - [`HttpClient::send`]: credentials ([`AuthConfig`]), a client-side rate
//!   limit, retries of reads and of writes marked safe to repeat (capped
//!   exponential backoff with full jitter, `Retry-After` honoured up to a
//!   cap), one new login or token on a 401;
//! - [`HttpError`]: every failure categorised ([`Kind`]) with the system's
//!   message, status and request id, secrets redacted, and mapped into the
//!   crate's [`Error`](crate::Error) so the push engine files it correctly;
//! - [`paging`]: offset/limit, page number, cursor, next URL and `Link`
//!   header listings, bounded against loops.
//!
//! Configuration fields are documented in `docs/http.md`.

pub mod auth;
pub mod client;
pub mod config;
pub mod error;
pub mod json_path;
pub mod paging;
pub mod redact;

pub use client::{HttpClient, Repeat, Request, Response, USER_AGENT, build_client};
pub use config::{AuthConfig, HttpOptions, Pagination};
pub use error::{HttpError, Kind};

#[cfg(test)]
mod tests;
