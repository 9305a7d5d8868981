//! The Lambda authorizer of the portal routes: it verifies the caller's bearer token against the identity
//! provider's keys, as API Gateway's JWT authorizer does for the API routes, but reads the token from every place
//! Esri's clients put it ([`crate::http::token::portal_token`]: `Authorization: Bearer`, `X-Esri-Authorization:
//! Bearer` or the `token` query parameter). API Gateway's JWT authorizer reads one identity source only, which is
//! why the portal routes need this function.
//!
//! It verifies what the JWT authorizer verifies: a signature by a key of the issuer's JWKS (RSA or ECDSA; never
//! `none` or an HMAC), `iss` equal to the issuer, `aud` (or, for access tokens without one, `client_id`) among
//! the audiences, `exp` in the future and `nbf` in the past. The claims of a verified token are handed to the
//! function flattened as the JWT authorizer flattens them, so the operations read both alike.
//!
//! A request without a token, or whose token does not verify, is passed on with an empty context: the operation
//! then finds no caller and answers the ArcGIS error body with a 401, as the local server does — API Gateway's
//! own refusal (`{"message":"Forbidden"}`) is a body Esri's clients would take for data. A request is refused
//! here (`isAuthorized: false`) only when the keys cannot be had, so that an outage never looks like anonymity.
//!
//! API Gateway cannot cache these answers: its cache is keyed by identity sources, and a request that lacks any
//! of them is refused before the authorizer runs, which three alternative placements cannot satisfy. So this
//! function keeps the issuer's keys itself (an hour, refetched early at most every 30 s for an unknown key id),
//! and a verification is one signature check.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::RwLock;

use crate::http::token::{flatten_claims, portal_token};

/// How long the issuer's keys are used before they are fetched again.
const KEYS_TTL: Duration = Duration::from_secs(3600);
/// The shortest pause between two fetches that an unknown key id (a rotation, or a forger's guess) may cause.
const REFETCH_AFTER: Duration = Duration::from_secs(30);
/// A JWKS or discovery document larger than this is refused: no provider publishes one near it.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;
/// Each fetch gives up after this, well inside the authorizer's timeout.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);
/// The only algorithms accepted, as the key's type decides: asymmetric ones, so that a public key can never be
/// turned into an HMAC secret, and never `none`.
const ALGORITHMS: &[Algorithm] =
    &[Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::ES256, Algorithm::ES384];

/// The settings [`Policy::from_env`] reads (the template check holds the template to them).
pub const SETTINGS: &[&str] = &["RSVP_JWT_ISSUER", "RSVP_JWT_AUDIENCE", "RSVP_JWKS_URL"];

/// What the authorizer checks tokens against; from the environment by [`Policy::from_env`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The `iss` every token must name: the identity provider's issuer URL.
    pub issuer: String,
    /// Accepted `aud` (or `client_id`) values; one must match.
    pub audiences: Vec<String>,
    /// Where the keys are; `None` reads `jwks_uri` from `{issuer}/.well-known/openid-configuration`, as API
    /// Gateway does.
    pub jwks_url: Option<String>,
}

/// A setting that is missing or unusable: the function refuses to start.
#[derive(Debug, thiserror::Error)]
#[error("configuration {name} is not valid: {why}")]
pub struct PolicyError {
    pub name: &'static str,
    pub why: &'static str,
}

impl Policy {
    /// Reads `RSVP_JWT_ISSUER`, `RSVP_JWT_AUDIENCE` (comma-separated) and optionally `RSVP_JWKS_URL`, the same
    /// issuer and audiences as the API's JWT authorizer.
    pub fn from_env() -> Result<Self, PolicyError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, PolicyError> {
        let set = |name| get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let issuer = set("RSVP_JWT_ISSUER").ok_or(PolicyError { name: "RSVP_JWT_ISSUER", why: "it is not set" })?;
        if !fetchable(&issuer) {
            return Err(PolicyError { name: "RSVP_JWT_ISSUER", why: "it must be an https:// URL" });
        }
        let audiences: Vec<String> = set("RSVP_JWT_AUDIENCE")
            .unwrap_or_default()
            .split(',')
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty())
            .collect();
        if audiences.is_empty() {
            return Err(PolicyError { name: "RSVP_JWT_AUDIENCE", why: "it names no audience" });
        }
        let jwks_url = set("RSVP_JWKS_URL");
        if jwks_url.as_deref().is_some_and(|u| !fetchable(u)) {
            return Err(PolicyError { name: "RSVP_JWKS_URL", why: "it must be an https:// URL" });
        }
        Ok(Self { issuer, audiences, jwks_url })
    }
}

/// Keys are fetched over HTTPS; plain HTTP only from this machine (tests, and a local identity provider).
fn fetchable(url: &str) -> bool {
    match url::Url::parse(url) {
        Ok(u) if u.scheme() == "https" => u.host().is_some(),
        Ok(u) if u.scheme() == "http" => {
            matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"))
        }
        _ => false,
    }
}

/// The answer API Gateway reads from an HTTP API Lambda authorizer with simple responses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Decision {
    pub is_authorized: bool,
    /// The verified token's claims, flattened; empty for a caller without a valid token.
    pub context: BTreeMap<String, String>,
}

impl Decision {
    fn anonymous() -> Self {
        Self { is_authorized: true, context: BTreeMap::new() }
    }
}

/// Why a request could not be decided: the keys could not be had. The function fails the invocation, which API
/// Gateway answers with a 500 (the caller may retry), never a silent pass.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    #[error("fetching {what} failed: {why}")]
    Fetch { what: &'static str, why: String },
    #[error("the {what} is not valid: {why}")]
    Invalid { what: &'static str, why: String },
}

/// Why one token was not accepted (logged by kind; the caller is passed on as anonymous).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    Malformed,
    Algorithm,
    UnknownKey,
    Signature,
    Issuer,
    Audience,
    Expired,
    NotYetValid,
}

struct Cached {
    keys: JwkSet,
    fetched: Instant,
}

/// Verifies tokens; one per Lambda instance, holding the issuer's keys between invocations.
pub struct Authorizer {
    policy: Policy,
    http: reqwest::Client,
    keys: RwLock<Option<Cached>>,
}

impl Authorizer {
    pub fn new(policy: Policy) -> Self {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { policy, http, keys: RwLock::new(None) }
    }

    /// The decision for one request, at `now` (seconds since the Unix epoch).
    pub async fn decide(
        &self,
        request: &ApiGatewayV2CustomAuthorizerV2Request,
        now: i64,
    ) -> Result<Decision, KeysError> {
        let query = request.raw_query_string.as_deref().unwrap_or_default();
        let Some(token) = portal_token(&request.headers, query) else {
            return Ok(Decision::anonymous());
        };
        match self.verify(&token, now).await? {
            Ok(claims) => Ok(Decision { is_authorized: true, context: flatten_claims(&claims) }),
            Err(refusal) => {
                tracing::info!(refusal = ?refusal, "token refused; passed on without a caller");
                Ok(Decision::anonymous())
            }
        }
    }

    /// The claims of `token` if it verifies at `now`; the outer error is an outage, the inner one the token's
    /// fault.
    pub async fn verify(&self, token: &str, now: i64) -> Result<Result<Map<String, Value>, Refusal>, KeysError> {
        let Ok(header) = jsonwebtoken::decode_header(token) else {
            return Ok(Err(Refusal::Malformed));
        };
        if !ALGORITHMS.contains(&header.alg) {
            return Ok(Err(Refusal::Algorithm));
        }
        let Some(kid) = header.kid else {
            return Ok(Err(Refusal::UnknownKey));
        };
        let Some(jwk) = self.key(&kid).await? else {
            return Ok(Err(Refusal::UnknownKey));
        };
        Ok(check(token, header.alg, &jwk, &self.policy, now))
    }

    /// The key `kid`, from the cache, or fetched when the cache is old or (at most every 30 s) lacks it.
    async fn key(&self, kid: &str) -> Result<Option<Jwk>, KeysError> {
        {
            let cached = self.keys.read().await;
            if let Some(cached) = cached.as_ref() {
                let fresh = cached.fetched.elapsed() < KEYS_TTL;
                if let Some(jwk) = cached.keys.find(kid).filter(|_| fresh) {
                    return Ok(Some(jwk.clone()));
                }
                if fresh && cached.fetched.elapsed() < REFETCH_AFTER {
                    return Ok(None);
                }
            }
        }
        let mut cached = self.keys.write().await;
        // Another invocation may have fetched while this one waited for the lock.
        let recent = cached.as_ref().is_some_and(|c| c.fetched.elapsed() < REFETCH_AFTER);
        if !recent {
            *cached = Some(Cached { keys: self.fetch_keys().await?, fetched: Instant::now() });
        }
        Ok(cached.as_ref().and_then(|c| c.keys.find(kid)).cloned())
    }

    async fn fetch_keys(&self) -> Result<JwkSet, KeysError> {
        let url = match &self.policy.jwks_url {
            Some(url) => url.clone(),
            None => {
                let discovery =
                    format!("{}/.well-known/openid-configuration", self.policy.issuer.trim_end_matches('/'));
                let document: Value = self.fetch("discovery document", &discovery).await?;
                let uri = document["jwks_uri"].as_str().filter(|u| fetchable(u)).ok_or(KeysError::Invalid {
                    what: "discovery document",
                    why: "it names no https jwks_uri".into(),
                })?;
                uri.to_owned()
            }
        };
        self.fetch("key set", &url).await
    }

    async fn fetch<T: serde::de::DeserializeOwned>(&self, what: &'static str, url: &str) -> Result<T, KeysError> {
        let failed = |why: String| KeysError::Fetch { what, why };
        let response = self.http.get(url).send().await.map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("status {}", response.status())));
        }
        if response.content_length().is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64) {
            return Err(KeysError::Invalid { what, why: "it is too large".into() });
        }
        let bytes = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        if bytes.len() > MAX_DOCUMENT_BYTES {
            return Err(KeysError::Invalid { what, why: "it is too large".into() });
        }
        serde_json::from_slice(&bytes).map_err(|e| KeysError::Invalid { what, why: e.to_string() })
    }
}

/// Verifies `token` with `jwk` under `policy` at `now`: pure, so every rule is tested without a network.
pub fn check(token: &str, alg: Algorithm, jwk: &Jwk, policy: &Policy, now: i64) -> Result<Map<String, Value>, Refusal> {
    // The key's own type decides: an RSA key verifies only RS*, an EC key only ES* of its curve.
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refusal::UnknownKey)?;
    let mut validation = Validation::new(alg);
    // Time is checked below against the caller's clock, the audience with API Gateway's client_id fallback.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
        jsonwebtoken::errors::ErrorKind::InvalidSignature => Refusal::Signature,
        jsonwebtoken::errors::ErrorKind::InvalidAlgorithm | jsonwebtoken::errors::ErrorKind::InvalidAlgorithmName => {
            Refusal::Algorithm
        }
        _ => Refusal::Malformed,
    })?;
    let claims = data.claims;
    if claims.get("iss").and_then(Value::as_str) != Some(policy.issuer.as_str()) {
        return Err(Refusal::Issuer);
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => claims.get("client_id").and_then(Value::as_str).into_iter().collect(),
    };
    if !audiences.iter().any(|a| policy.audiences.iter().any(|p| p == a)) {
        return Err(Refusal::Audience);
    }
    match claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp > now => {}
        _ => return Err(Refusal::Expired),
    }
    if claims.get("nbf").and_then(Value::as_i64).is_some_and(|nbf| nbf > now) {
        return Err(Refusal::NotYetValid);
    }
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_reads_the_jwt_authorizers_settings_and_refuses_unusable_ones() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| (*v).to_owned())
        };
        let policy = Policy::from_lookup(env(&[
            ("RSVP_JWT_ISSUER", "https://id.example.com/pool"),
            ("RSVP_JWT_AUDIENCE", "app-1, app-2,"),
        ]))
        .unwrap();
        assert_eq!(policy.audiences, ["app-1", "app-2"]);
        assert_eq!(policy.jwks_url, None);
        assert!(Policy::from_lookup(env(&[("RSVP_JWT_AUDIENCE", "a")])).is_err());
        assert!(Policy::from_lookup(env(&[("RSVP_JWT_ISSUER", "https://id.example.com")])).is_err());
        assert!(
            Policy::from_lookup(env(&[("RSVP_JWT_ISSUER", "http://id.example.com"), ("RSVP_JWT_AUDIENCE", "a")]))
                .is_err()
        );
        assert!(
            Policy::from_lookup(env(&[
                ("RSVP_JWT_ISSUER", "https://id.example.com"),
                ("RSVP_JWT_AUDIENCE", "a"),
                ("RSVP_JWKS_URL", "ftp://id.example.com/keys")
            ]))
            .is_err()
        );
        assert!(fetchable("http://127.0.0.1:8080/keys"), "keys from this machine, for tests");
    }
}
