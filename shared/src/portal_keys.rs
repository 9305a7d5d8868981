//! Another portal's published key: the port through which a portal learns the key the other side of a
//! collaboration publishes at `GET {portal URL}/sharing/rest/portals/self` (`publicKey`). A file carries its
//! signer's key, so a signature alone proves only that *someone* signed it; comparing that key with the one the
//! named portal publishes over HTTPS is what ties the file to that portal (see `crate::ops::portal`).
//!
//! [`PortalKeys`] is the port, kept on [`crate::app::App`] like the store and the signer. [`NoPortalKeys`] is what
//! an `App` has until told otherwise: every portal is unreachable, so only an administrator's out-of-band
//! fingerprint confirms a key (a function built without the real fetcher fails closed). With the feature
//! `portal-keys`, `HttpPortalKeys` fetches over `reqwest` with rustls: HTTPS only (redirects too), a short
//! timeout and a size limit on the answer. Its only widening, `HttpPortalKeys::with_extra_roots`, trusts extra
//! root certificates and is for tests and `rsvp-local serve --trust-cert` only: the Lambda functions never call it.

use async_trait::async_trait;

use crate::domain::collaboration::PortalUrl;

/// How long a fetch of another portal's description may take in all: the operation waits for it.
pub const FETCH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// The largest description read: a `portals/self` answer is well under 2 KiB.
pub const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// The most redirects followed, each only to `https://`.
pub const MAX_REDIRECTS: usize = 3;

/// Why another portal's key could not be had. The sentence names the URL and the cause and never a secret: it is
/// shown to the administrator who asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyFetchError(pub String);

/// Fetches the key a portal publishes.
#[async_trait]
pub trait PortalKeys: Send + Sync {
    /// The `publicKey` (base64 DER SubjectPublicKeyInfo, as published) of the portal at `portal`.
    async fn published_key(&self, portal: &PortalUrl) -> Result<String, KeyFetchError>;
}

/// Reaches no portal: every key must be confirmed by its fingerprint.
pub struct NoPortalKeys;

#[async_trait]
impl PortalKeys for NoPortalKeys {
    async fn published_key(&self, portal: &PortalUrl) -> Result<String, KeyFetchError> {
        Err(KeyFetchError(format!("this deployment does not fetch other portals' keys, so {portal} was not asked")))
    }
}

/// The description URL of the portal at `portal`.
pub fn description_url(portal: &PortalUrl) -> String {
    format!("{portal}/sharing/rest/portals/self?f=json")
}

/// The `publicKey` of a `portals/self` answer, or why it has none.
pub fn key_of_answer(portal: &PortalUrl, body: &[u8]) -> Result<String, KeyFetchError> {
    let bad = |why: &str| KeyFetchError(format!("{} did not answer with a portal description: {why}", portal));
    let value: serde_json::Value = serde_json::from_slice(body).map_err(|_| bad("the answer is not JSON"))?;
    if value.get("error").is_some() {
        return Err(bad("it answered with an error"));
    }
    let key = value.get("publicKey").and_then(serde_json::Value::as_str).ok_or_else(|| bad("it has no publicKey"))?;
    if key.is_empty() || key.len() > 1024 {
        return Err(bad("its publicKey is empty or longer than 1 KiB"));
    }
    Ok(key.to_owned())
}

#[cfg(feature = "portal-keys")]
pub use http::HttpPortalKeys;

#[cfg(feature = "portal-keys")]
mod http {
    use super::*;

    /// Fetches over HTTPS with the platform's trusted roots (and, for tests only, extra ones).
    pub struct HttpPortalKeys {
        http: reqwest::Client,
    }

    impl HttpPortalKeys {
        /// The fetcher the Lambda functions use: the platform's roots only.
        pub fn new() -> Result<Self, KeyFetchError> {
            Self::build(Vec::new())
        }

        /// Also trusts the certificates in `pem` as roots. For tests and `rsvp-local serve --trust-cert` (a local
        /// portal's self-signed `tls.pem`) only; never in AWS.
        pub fn with_extra_roots(pem: &[u8]) -> Result<Self, KeyFetchError> {
            let certs = reqwest::Certificate::from_pem_bundle(pem)
                .map_err(|e| KeyFetchError(format!("the extra root certificates are not readable PEM: {e}")))?;
            if certs.is_empty() {
                return Err(KeyFetchError("the extra root certificates file holds no certificate".into()));
            }
            Self::build(certs)
        }

        fn build(roots: Vec<reqwest::Certificate>) -> Result<Self, KeyFetchError> {
            // A redirect is followed only to https, and only a few times; any other ends the fetch.
            let redirects = reqwest::redirect::Policy::custom(|attempt| {
                if attempt.url().scheme() != "https" || attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            });
            let http = reqwest::Client::builder()
                .https_only(true)
                .timeout(FETCH_TIMEOUT)
                .connect_timeout(FETCH_TIMEOUT)
                .redirect(redirects)
                .tls_certs_merge(roots)
                .build()
                .map_err(|e| KeyFetchError(format!("the HTTPS client could not be built: {e}")))?;
            Ok(Self { http })
        }
    }

    #[async_trait]
    impl PortalKeys for HttpPortalKeys {
        async fn published_key(&self, portal: &PortalUrl) -> Result<String, KeyFetchError> {
            let url = description_url(portal);
            let unreachable = |why: String| KeyFetchError(format!("{portal} could not be reached: {why}"));
            let mut response = self.http.get(&url).send().await.map_err(|e| unreachable(cause(&e)))?;
            if !response.status().is_success() {
                return Err(unreachable(format!("its description answered {}", response.status())));
            }
            if response.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
                return Err(unreachable(format!("its description is larger than {MAX_ANSWER_BYTES} bytes")));
            }
            let mut body = Vec::new();
            while let Some(chunk) = response.chunk().await.map_err(|e| unreachable(cause(&e)))? {
                if body.len() + chunk.len() > MAX_ANSWER_BYTES {
                    return Err(unreachable(format!("its description is larger than {MAX_ANSWER_BYTES} bytes")));
                }
                body.extend_from_slice(&chunk);
            }
            key_of_answer(portal, &body)
        }
    }

    /// The error's causes in a few words (reqwest's own sentence names only its kind).
    fn cause(error: &reqwest::Error) -> String {
        use std::error::Error as _;
        let mut text = error.to_string();
        let mut source = error.source();
        while let Some(inner) = source {
            text.push_str(": ");
            text.push_str(&inner.to_string());
            source = inner.source();
        }
        text.chars().take(300).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> PortalUrl {
        PortalUrl::parse("url", "https://host.example/portal", false).unwrap()
    }

    #[test]
    fn a_description_gives_its_key_and_anything_else_is_refused() {
        assert_eq!(description_url(&url()), "https://host.example/portal/sharing/rest/portals/self?f=json");
        assert_eq!(key_of_answer(&url(), br#"{"id":"x","publicKey":"AAAA"}"#), Ok("AAAA".into()));
        for bad in [&b"<html>"[..], b"{}", br#"{"publicKey":7}"#, br#"{"error":{"code":404}}"#, br#"{"publicKey":""}"#]
        {
            assert!(key_of_answer(&url(), bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
