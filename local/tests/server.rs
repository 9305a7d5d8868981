//! The server over real HTTP: a token is honoured, its absence is answered by the operation, and an unknown path
//! by the server, each in the `ErrorResponse` shape where it is refused.

use std::net::SocketAddr;
use std::sync::Arc;

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rsvp::app::{App, Config};
use rsvp::store::memory::MemoryStore;
use rsvp_local::{Server, SigningKey, TokenClaims};
use serde_json::Value;

/// Sends one request on a fresh connection and returns the status and the body as JSON.
async fn send(addr: SocketAddr, method: Method, path: &str, token: Option<&str>, body: &str) -> (StatusCode, Value) {
    let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.unwrap();
    tokio::spawn(connection);
    let mut request = Request::builder()
        .method(method)
        .uri(path)
        .header("host", addr.to_string())
        .header("content-type", "application/json");
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let request = request.body(Full::new(Bytes::from(body.to_owned()))).unwrap();
    let response = sender.send_request(request).await.unwrap();
    let status = response.status();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

#[tokio::test]
async fn serves_operations_over_http() {
    let key = SigningKey::generate();
    let token = key.mint(&TokenClaims::new("acme", "ada@example.com", &["TenantAdministrator"]));
    let app = Arc::new(App::new(Arc::new(MemoryStore::new()), Config::default()));
    let server = Server::bind(([127, 0, 0, 1], 0).into(), app, key).await.unwrap();
    let addr = server.local_addr();
    let running = tokio::spawn(server.run());
    let path = "/api/v1-preview/communities";
    let community = r#"{"Name":"Makers","Description":"People who make things"}"#;

    let (status, body) = send(addr, Method::POST, path, Some(&token), community).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["Name"], "Makers", "{body}");

    let (status, body) = send(addr, Method::POST, path, None, community).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["Error"], "Unauthorized", "{body}");
    assert!(body["OperationId"].as_str().is_some_and(|id| !id.is_empty()), "{body}");

    let (status, body) = send(addr, Method::GET, "/nope", Some(&token), "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["Error"], "Not Found", "{body}");
    assert_eq!(body["Reason"], "No operation is served at GET /nope.", "{body}");

    let (status, body) = send(addr, Method::PATCH, path, Some(&token), "").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{body}");

    let big = format!(r#"{{"Name":"{}"}}"#, "x".repeat(rsvp_local::server::MAX_READ_BYTES));
    let (status, body) = send(addr, Method::POST, path, Some(&token), &big).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["Reason"], "The body is larger than 64 KiB.", "{body}");

    running.abort();
}
