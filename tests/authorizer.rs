//! The portal routes' Lambda authorizer (`rsvp::authorizer`) against a real HTTP key server on this machine: its
//! sample events (`events/portal-authorizer-*.json`: the three places Esri's clients put a token, and a forged
//! one) decide as their names say, every forgery is passed on without a caller, the claims it hands on are the
//! caller a portal operation sees, the issuer's keys are fetched once and refetched at a bounded rate, and keys
//! that cannot be had fail the invocation rather than let a request through.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsvp::authorizer::{Authorizer, Policy, Refusal};
use rsvp::http::ApiError;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpListener;

/// The instant the sample events are sent at (2026-03-02T09:00:00Z), as in tests/events/.
const NOW: i64 = 1_772_442_000;
const ISSUER: &str = "https://login.example.com/";
const AUDIENCE: &str = "rsvp-portal";
const KID: &str = "rsvp-events-fixture";
/// The identity provider's signing key the sample events' tokens were made with (P-256, PKCS#8 DER, base64): a
/// fixture made for these tests only, as are the events' tokens, which no deployment accepts. Its public half:
const FIXTURE_KEY: &str = "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgJ1So3l+2/Js9SUuNi5vvxqvVhBlyL9Fckal3PgI9YyChRANCAASAgGk1kKxJixD0VMwrI89Hiwz3Ffp3eVBSGv8IUqlsrF9Dd+sjJQyAYQwG+4GVc95Zvvkg1krRp/qAzKJE2ytv";
const FIXTURE_X: &str = "gIBpNZCsSYsQ9FTMKyPPR4sM9xX6d3lQUhr_CFKpbKw";
const FIXTURE_Y: &str = "X0N36yMlDIBhDAb7gZVz3lm--SDWStGn-oDMokTbK28";

/// A key server: the discovery document at `/.well-known/openid-configuration`, the JWKS at `/keys`, and how
/// often each was asked for.
struct KeyServer {
    url: String,
    discovery: Arc<AtomicUsize>,
    keys: Arc<AtomicUsize>,
}

impl KeyServer {
    async fn start(jwks: Value) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (discovery, keys) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let document = json!({ "issuer": url, "jwks_uri": format!("{url}/keys") }).to_string();
        let jwks = jwks.to_string();
        let (d, k) = (Arc::clone(&discovery), Arc::clone(&keys));
        tokio::spawn(async move {
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { return };
                let mut head = vec![0u8; 4096];
                let n = socket.read(&mut head).await.unwrap_or(0);
                let line = String::from_utf8_lossy(&head[..n]).lines().next().unwrap_or_default().to_owned();
                let body = if line.starts_with("GET /.well-known/openid-configuration ") {
                    d.fetch_add(1, Ordering::SeqCst);
                    Some(document.clone())
                } else if line.starts_with("GET /keys ") {
                    k.fetch_add(1, Ordering::SeqCst);
                    Some(jwks.clone())
                } else {
                    None
                };
                let answer = match body {
                    Some(body) => format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    ),
                    None => "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            }
        });
        Self { url, discovery, keys }
    }

    fn fetches(&self) -> (usize, usize) {
        (self.discovery.load(Ordering::SeqCst), self.keys.load(Ordering::SeqCst))
    }
}

fn fixture_jwks() -> Value {
    json!({ "keys": [{ "kty": "EC", "crv": "P-256", "kid": KID, "use": "sig", "alg": "ES256", "x": FIXTURE_X, "y": FIXTURE_Y }] })
}

/// An authorizer for the sample events' issuer, reading its keys from `server`.
fn authorizer(server: &KeyServer) -> Authorizer {
    Authorizer::new(Policy {
        issuer: ISSUER.into(),
        audiences: vec!["another-app".into(), AUDIENCE.into()],
        jwks_url: Some(format!("{}/keys", server.url)),
    })
}

fn claims() -> Value {
    json!({
        "sub": "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80", "email": "admin@owner.example", "email_verified": true,
        "tenant_id": "tenant-owner", "roles": ["PortalAdministrator"], "iss": ISSUER, "aud": AUDIENCE,
        "iat": NOW - 300, "exp": NOW + 3300,
    })
}

/// A token over `claims`, signed by the fixture key under `kid`.
fn mint(claims: &Value, kid: &str) -> String {
    let key = EncodingKey::from_ec_der(&STANDARD.decode(FIXTURE_KEY).unwrap());
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// `claims()` with `changes` applied (a `null` removes the claim).
fn with(changes: Value) -> Value {
    let mut claims = claims();
    for (name, value) in changes.as_object().unwrap() {
        match value {
            Value::Null => claims.as_object_mut().unwrap().remove(name),
            v => claims.as_object_mut().unwrap().insert(name.clone(), v.clone()),
        };
    }
    claims
}

fn repo_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn sample(name: &str) -> ApiGatewayV2CustomAuthorizerV2Request {
    let path = repo_root().join("events").join(format!("portal-authorizer-{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

#[tokio::test]
async fn the_sample_events_decide_as_their_names_say() {
    let server = KeyServer::start(fixture_jwks()).await;
    let authorizer = authorizer(&server);
    for placement in ["bearer", "esri-header", "token-parameter"] {
        let decision = authorizer.decide(&sample(placement), NOW).await.unwrap();
        assert!(decision.is_authorized, "{placement}");
        let context = &decision.context;
        assert_eq!(context.get("tenant_id").map(String::as_str), Some("tenant-owner"), "{placement}: {context:?}");
        assert_eq!(context.get("roles").map(String::as_str), Some("[PortalAdministrator]"), "{placement}: flattened");
        assert_eq!(context.get("email_verified").map(String::as_str), Some("true"), "{placement}");
    }
    let forged = authorizer.decide(&sample("bad-token"), NOW).await.unwrap();
    assert!(forged.is_authorized, "passed on, for the operation to answer its own 401");
    assert!(forged.context.is_empty(), "but without a caller: {:?}", forged.context);
    assert_eq!(server.fetches(), (0, 1), "the keys were fetched once for all four");
    // An hour later the same tokens have expired.
    let later = authorizer.decide(&sample("bearer"), NOW + 3600).await.unwrap();
    assert!(later.context.is_empty(), "an expired token names no caller");
}

/// What the authorizer hands on is, to a portal operation, the caller; an empty context is no caller (the
/// operation's 401).
#[tokio::test]
async fn the_context_handed_on_is_the_caller_a_portal_operation_sees() {
    let server = KeyServer::start(fixture_jwks()).await;
    let decision = authorizer(&server).decide(&sample("esri-header"), NOW).await.unwrap();
    let path = repo_root().join("events").join("list-collaborations.json");
    let mut event: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = rsvp::app::ClaimNames::default();
    let principal_of = |context: &BTreeMap<String, String>, event: &mut Value| {
        event["requestContext"]["authorizer"] = json!({ "lambda": context });
        let request = lambda_http::request::from_str(&event.to_string()).unwrap();
        rsvp::http::request::principal(&request, &names)
    };
    let caller = principal_of(&decision.context, &mut event).unwrap();
    assert_eq!(caller.tenant.as_str(), "tenant-owner");
    assert_eq!(caller.user.as_str(), "4a7f2c1e-8b3d-4f6a-9c2e-1d5b7a3f9e80");
    assert_eq!(caller.roles, [rsvp::domain::Role::PortalAdministrator]);
    assert_eq!(caller.email.map(|e| e.as_str().to_owned()).as_deref(), Some("admin@owner.example"));
    let anonymous = principal_of(&BTreeMap::new(), &mut event);
    assert!(matches!(anonymous, Err(ApiError::Unauthorized(_))), "{anonymous:?}");
}

#[tokio::test]
async fn every_forgery_is_refused_for_its_own_reason() {
    let server = KeyServer::start(fixture_jwks()).await;
    let authorizer = authorizer(&server);
    let refusal = |token: String| {
        let authorizer = &authorizer;
        async move { authorizer.verify(&token, NOW).await.unwrap().err() }
    };
    assert_eq!(refusal(mint(&claims(), KID)).await, None, "the genuine token verifies");

    // Signed by another key under the fixture's key id (the bad-token sample's forgery).
    let forged = sample("bad-token").headers["x-esri-authorization"].to_str().unwrap()[7..].to_owned();
    assert_eq!(refusal(forged).await, Some(Refusal::Signature));
    // A genuine token with its payload changed: another tenant, the signature kept.
    let genuine = mint(&claims(), KID);
    let parts: Vec<&str> = genuine.split('.').collect();
    let payload = URL_SAFE_NO_PAD.encode(with(json!({ "tenant_id": "tenant-stranger" })).to_string());
    assert_eq!(refusal(format!("{}.{payload}.{}", parts[0], parts[2])).await, Some(Refusal::Signature));
    // `alg: none`, and an HMAC keyed with the public key (the classic algorithm confusion).
    let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"rsvp-events-fixture"}"#), parts[1]);
    assert_eq!(refusal(none).await, Some(Refusal::Malformed), "`none` is no algorithm jsonwebtoken parses");
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(KID.into());
    let confused =
        jsonwebtoken::encode(&hs, &claims(), &EncodingKey::from_secret(FIXTURE_X.as_bytes()).unwrap()).unwrap();
    assert_eq!(refusal(confused).await, Some(Refusal::Algorithm));
    // The right key, the wrong claims.
    assert_eq!(refusal(mint(&with(json!({ "iss": "https://login.example.org/" })), KID)).await, Some(Refusal::Issuer));
    assert_eq!(refusal(mint(&with(json!({ "iss": null })), KID)).await, Some(Refusal::Issuer));
    assert_eq!(refusal(mint(&with(json!({ "aud": "someone-else" })), KID)).await, Some(Refusal::Audience));
    assert_eq!(refusal(mint(&with(json!({ "aud": null })), KID)).await, Some(Refusal::Audience));
    assert_eq!(refusal(mint(&with(json!({ "exp": NOW })), KID)).await, Some(Refusal::Expired));
    assert_eq!(refusal(mint(&with(json!({ "exp": null })), KID)).await, Some(Refusal::Expired), "exp is required");
    assert_eq!(refusal(mint(&with(json!({ "nbf": NOW + 60 })), KID)).await, Some(Refusal::NotYetValid));
    assert_eq!(refusal(mint(&claims(), "another-key")).await, Some(Refusal::UnknownKey));
    assert_eq!(refusal("not.a.token".to_owned()).await, Some(Refusal::Malformed));
    assert_eq!(refusal(String::new()).await, Some(Refusal::Malformed));
}

/// As API Gateway's JWT authorizer does for access tokens (Cognito's carry no `aud`): `client_id` stands in for a
/// missing `aud`, and an `aud` list needs one accepted member.
#[tokio::test]
async fn client_id_stands_in_for_a_missing_audience_and_an_audience_list_needs_one_member() {
    let server = KeyServer::start(fixture_jwks()).await;
    let authorizer = authorizer(&server);
    let verify = |claims: Value| {
        let authorizer = &authorizer;
        async move { authorizer.verify(&mint(&claims, KID), NOW).await.unwrap().err() }
    };
    assert_eq!(verify(with(json!({ "aud": null, "client_id": AUDIENCE }))).await, None);
    assert_eq!(verify(with(json!({ "aud": null, "client_id": "other" }))).await, Some(Refusal::Audience));
    assert_eq!(verify(with(json!({ "aud": ["x", AUDIENCE] }))).await, None);
    assert_eq!(verify(with(json!({ "aud": ["x", "y"] }))).await, Some(Refusal::Audience));
    assert_eq!(
        verify(with(json!({ "aud": "someone-else", "client_id": AUDIENCE }))).await,
        Some(Refusal::Audience),
        "client_id only stands in for a missing aud"
    );
}

/// A token is read from the same places as by the local server, and an ambiguous one names no caller.
#[tokio::test]
async fn a_token_given_twice_as_a_parameter_names_no_caller() {
    let server = KeyServer::start(fixture_jwks()).await;
    let mut twice = sample("token-parameter");
    let token = mint(&claims(), KID);
    twice.raw_query_string = Some(format!("f=json&token={token}&token={token}"));
    let decision = authorizer(&server).decide(&twice, NOW).await.unwrap();
    assert!(decision.is_authorized && decision.context.is_empty(), "{decision:?}");
}

/// The keys are read through the issuer's discovery document when no JWKS URL is set, as API Gateway does; an
/// unknown key id (a rotation, or a forger's guess) refetches them, but at most once every 30 seconds.
#[tokio::test]
async fn the_keys_are_discovered_fetched_once_and_refetched_at_a_bounded_rate() {
    let server = KeyServer::start(fixture_jwks()).await;
    let authorizer =
        Authorizer::new(Policy { issuer: server.url.clone(), audiences: vec![AUDIENCE.into()], jwks_url: None });
    let token = mint(&with(json!({ "iss": server.url })), KID);
    for _ in 0..5 {
        assert_eq!(authorizer.verify(&token, NOW).await.unwrap().err(), None);
    }
    assert_eq!(server.fetches(), (1, 1), "one discovery, one key set, for five verifications");
    let guesses = mint(&with(json!({ "iss": server.url })), "guessed-key");
    for _ in 0..20 {
        assert_eq!(authorizer.verify(&guesses, NOW).await.unwrap().err(), Some(Refusal::UnknownKey));
    }
    assert_eq!(server.fetches(), (1, 1), "twenty unknown key ids just after a fetch cause none");
    rsvp_tests::figure("portal authorizer", "25 verifications, 2 key fetches (discovery and JWKS)");
}

/// An outage is not anonymity: keys that cannot be had fail the invocation (API Gateway answers 500), they never
/// let the request through without a caller nor with one.
#[tokio::test]
async fn keys_that_cannot_be_had_fail_the_invocation() {
    let closed = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/keys", closed.local_addr().unwrap());
    drop(closed);
    let unreachable =
        Authorizer::new(Policy { issuer: ISSUER.into(), audiences: vec![AUDIENCE.into()], jwks_url: Some(url) });
    assert!(unreachable.decide(&sample("bearer"), NOW).await.is_err());
    let server = KeyServer::start(json!({ "keys": "not a list" })).await;
    assert!(authorizer(&server).decide(&sample("bearer"), NOW).await.is_err(), "an unreadable key set");
    // Without a token there is nothing to verify and no key to fetch: the request goes on without a caller.
    let mut no_token = sample("bearer");
    no_token.headers.remove("authorization");
    let decision = unreachable.decide(&no_token, NOW).await.unwrap();
    assert!(decision.is_authorized && decision.context.is_empty());
}
