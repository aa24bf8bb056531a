//! ServiceTitan API client for Switchboard's workers.
//!
//! - **Auth**: OAuth 2.0 client credentials per tenant; one cached token shared by every
//!   task, refreshed before expiry with one refresh in flight; a 401 forces one refresh
//!   and one retry. Every request sends `Authorization: Bearer` and `ST-App-Key`.
//! - **Limits**: a pacer per ServiceTitan tenant (default 60 requests/s) shared by every
//!   task; 429 (honouring `Retry-After`), 5xx, timeouts and connection errors are retried
//!   with jittered exponential backoff and a bounded number of attempts.
//! - **Errors** say transient or permanent, carry status, ServiceTitan's problem details
//!   and the operation — never a secret.
//! - **Writes are limited by construction**: the only mutating methods are in
//!   `client/writes.rs` and listed in [`WRITES`]: the call update, appointment confirmation,
//!   and booking's job create, reschedule, cancel and customer create; settings, capacity (a
//!   POST query), shifts, business hours and arrival windows are read-only. See
//!   `docs/servicetitan.md`.

mod auth;
mod call_class;
mod client;
pub mod doctor;
mod error;
mod http;
mod limiter;
pub mod models;
mod update;

pub use client::{
    ClientSettings, Observer, Query, RetryPolicy, ServiceTitan, TenantClient, WRITES, all_pages,
    export_all, export_all_calls,
};
pub use error::{ErrorKind, StError};
pub use http::{HttpClientError, build_client, error_chain, install_crypto_provider};
pub use limiter::RateLimiter;
pub use update::{AssembleError, CallChange, CurrentCall};
