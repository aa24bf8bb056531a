//! Building the HTTP client every Switchboard process uses, with errors that say what to do.
//!
//! reqwest is built with rustls and the platform verifier, which needs the system's CA
//! roots. On an image without them (`debian:*-slim` ships none) building the client fails
//! with reqwest's bare "builder error" — even for a plain-HTTP target — and the process
//! cannot start. [`build_client`] turns that into a message that names what the client
//! was for and the fix (install `ca-certificates`), and keeps the root cause.

use std::error::Error as StdError;

/// An HTTP client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum HttpClientError {
    /// The system has no CA certificates, so no TLS peer could ever be verified.
    #[error(
        "cannot build the HTTP client for {purpose}: no CA certificates were found on this \
         system. Install them (Debian/Ubuntu: apt-get install --no-install-recommends \
         ca-certificates; Alpine: apk add ca-certificates) or set SSL_CERT_FILE to a PEM \
         bundle (cause: {cause})"
    )]
    NoCaCertificates { purpose: String, cause: String },
    #[error("cannot build the HTTP client for {purpose}: {cause}")]
    Other { purpose: String, cause: String },
}

pub use switchboard_telemetry::install_crypto_provider;

/// Builds `builder` (after installing the crypto provider). `purpose` names what the
/// client is for in the error, e.g. "ServiceTitan (tenants demo, acme)".
pub fn build_client(
    builder: reqwest::ClientBuilder,
    purpose: &str,
) -> Result<reqwest::Client, HttpClientError> {
    install_crypto_provider();
    builder.build().map_err(|e| {
        let cause = error_chain(&e);
        let purpose = purpose.to_owned();
        if cause.contains("CA certificates") || cause.contains("native root") {
            HttpClientError::NoCaCertificates { purpose, cause }
        } else {
            HttpClientError::Other { purpose, cause }
        }
    })
}

/// `e` and every cause under it, joined with ": " (a cause that only repeats the one
/// above it is left out). reqwest's own `Display` stops at the top ("builder error",
/// "error sending request for url (…)"), which hides the reason.
pub fn error_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut previous = out.clone();
    let mut source = e.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !previous.ends_with(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        previous = text;
        source = cause.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct Layer(&'static str, #[source] Option<Box<Layer>>);

    #[test]
    fn the_chain_names_every_cause_once() {
        let e = Layer(
            "builder error",
            Some(Box::new(Layer(
                "unexpected error: No CA certificates were loaded from the system",
                None,
            ))),
        );
        assert_eq!(
            error_chain(&e),
            "builder error: unexpected error: No CA certificates were loaded from the system"
        );
    }

    #[test]
    fn a_client_builds_where_the_system_has_roots() {
        let client = build_client(reqwest::Client::builder(), "a test");
        assert!(client.is_ok(), "{:?}", client.err());
    }
}
