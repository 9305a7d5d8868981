//! The HTTP server that stands in for API Gateway: it routes by the shared route table, checks bearer tokens as
//! the JWT authorizer would, turns each request into the event Lambda would receive and runs the operation on it.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ALLOW, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use lambda_http::Body;
use rsvp::app::App;
use rsvp::http::ErrorResponse;
use rsvp::http::request::MAX_BODY_BYTES;
use rsvp::http::token::{api_token, portal_token};
use rsvp::routes::{Kind, ROUTES, Route, find, find_greedy, match_path};
use time::OffsetDateTime;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use uuid::Uuid;

use crate::event::{self, EventContext};
use crate::identity;
use crate::token::SigningKey;

/// The most read of a request body. The handlers refuse anything over [`MAX_BODY_BYTES`] themselves, with the
/// answer they give in Lambda; this bound only keeps a huge upload from filling memory first.
pub const MAX_READ_BYTES: usize = 1024 * 1024;
/// How long open connections get to finish after shutdown is asked for.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);
/// A failed `accept` (often: out of file descriptors) is retried after this pause rather than in a hot loop.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);
/// How long a client gets to complete the TLS handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The response header in which API Gateway names the request.
const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("apigw-requestid");
/// Where the API's OpenAPI description is served (it is no route of the table: API Gateway does not serve it).
pub const OPENAPI_PATH: &str = "/openapi.yaml";
/// The API's OpenAPI description, the repository's `openapi.yaml`.
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

/// Every route of [`ROUTES`] on one listening socket, in plain HTTP or (with [`Server::with_tls`]) HTTPS.
pub struct Server {
    listener: TcpListener,
    shared: Arc<Shared>,
    tls: Option<TlsAcceptor>,
}

/// What every request needs, shared by all connections.
struct Shared {
    app: Arc<App>,
    key: SigningKey,
    local_addr: SocketAddr,
    /// The data directory whose registered clients the identity endpoints serve ([`crate::identity`]); without
    /// it there are none.
    clients: Option<PathBuf>,
}

impl Server {
    /// Listens on `addr` (port 0 picks a free port; see [`Server::local_addr`]).
    pub async fn bind(addr: SocketAddr, app: Arc<App>, key: SigningKey) -> io::Result<Self> {
        Self::from_listener(TcpListener::bind(addr).await?, app, key)
    }

    /// Serves on a socket already listening, for callers that need its address before building the [`App`]
    /// (the invitation links' default public URL is the listening URL).
    pub fn from_listener(listener: TcpListener, app: Arc<App>, key: SigningKey) -> io::Result<Self> {
        let local_addr = listener.local_addr()?;
        Ok(Self { listener, shared: Arc::new(Shared { app, key, local_addr, clients: None }), tls: None })
    }

    /// Serves the local identity provider for the clients registered in `data_dir` (`rsvp-local client`).
    pub fn with_clients(mut self, data_dir: PathBuf) -> Self {
        // Nothing else holds the shared state before the server runs.
        if let Some(shared) = Arc::get_mut(&mut self.shared) {
            shared.clients = Some(data_dir);
        }
        self
    }

    /// Serves HTTPS with `acceptor` instead of plain HTTP (see [`crate::tls`]).
    #[must_use]
    pub fn with_tls(mut self, acceptor: TlsAcceptor) -> Self {
        self.tls = Some(acceptor);
        self
    }

    /// `https` when serving TLS, else `http`: the scheme of the listening URL.
    pub fn scheme(&self) -> &'static str {
        if self.tls.is_some() { "https" } else { "http" }
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.shared.local_addr
    }

    /// Serves until the task running it is dropped or aborted.
    pub async fn run(self) -> io::Result<()> {
        self.run_until(std::future::pending()).await
    }

    /// Serves until `shutdown` completes, then stops accepting and gives open connections ten seconds to finish
    /// what they are answering, so that Ctrl-C never cuts a response in half.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let builder = auto::Builder::new(TokioExecutor::new());
        let graceful = GracefulShutdown::new();
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                accepted = self.listener.accept() => match accepted {
                    Ok((stream, peer)) => self.serve_connection(&builder, &graceful, stream, peer),
                    Err(error) => {
                        tracing::warn!(%error, "accepting a connection failed");
                        tokio::time::sleep(ACCEPT_BACKOFF).await;
                    }
                },
            }
        }
        drop(self.listener);
        if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown()).await.is_err() {
            tracing::warn!("connections still open {DRAIN_TIMEOUT:?} after shutdown were closed");
        }
        Ok(())
    }

    fn serve_connection(
        &self,
        builder: &auto::Builder<TokioExecutor>,
        graceful: &GracefulShutdown,
        stream: TcpStream,
        peer: SocketAddr,
    ) {
        let shared = Arc::clone(&self.shared);
        let scheme = self.scheme();
        let service = service_fn(move |req| answer(Arc::clone(&shared), peer, scheme, req));
        let Some(tls) = self.tls.clone() else {
            let connection = graceful.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
            tokio::spawn(async move {
                if let Err(error) = connection.await {
                    tracing::debug!(%error, "connection closed with an error");
                }
            });
            return;
        };
        let (builder, watcher) = (builder.clone(), graceful.watcher());
        tokio::spawn(async move {
            // A client that opens a socket and never finishes the handshake holds only this task, and not for long.
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(stream)).await {
                Ok(Ok(stream)) => stream,
                Ok(Err(error)) => return tracing::debug!(%error, "TLS handshake failed"),
                Err(_) => return tracing::debug!("TLS handshake timed out"),
            };
            let connection = watcher.watch(builder.serve_connection(TokioIo::new(stream), service).into_owned());
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection closed with an error");
            }
        });
    }
}

/// One request's answer, whatever happens: every refusal is an `ErrorResponse` naming the request.
async fn answer(
    shared: Arc<Shared>,
    peer: SocketAddr,
    scheme: &'static str,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let request_id = Uuid::new_v4().to_string();
    let mut response = match dispatch(&shared, peer, scheme, req, &request_id).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(&request_id),
    };
    // The operations name the request in `Operation-Id` themselves; the refusals made here, and the identity
    // provider's answers, are named the same way, with the same id.
    if let Ok(value) = HeaderValue::from_str(&request_id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value.clone());
        response.headers_mut().insert(HeaderName::from_static(rsvp::http::response::OPERATION_ID), value);
    }
    Ok(response)
}

/// API Gateway's part (route, authorize, build the event) and then Lambda's (parse the event, run the handler).
async fn dispatch(
    shared: &Shared,
    peer: SocketAddr,
    scheme: &'static str,
    req: Request<Incoming>,
    request_id: &str,
) -> Result<Response<Full<Bytes>>, Refusal> {
    let (parts, body) = req.into_parts();
    if parts.method == hyper::Method::GET && parts.uri.path() == OPENAPI_PATH {
        return Ok(openapi());
    }
    if let Some(dir) = &shared.clients {
        match (&parts.method, parts.uri.path()) {
            (&hyper::Method::GET, identity::DISCOVERY_PATH) => {
                let host = domain_name(&parts, shared.local_addr).ok_or(Refusal::BadHost)?;
                return Ok(identity::discovery(&format!("http://{host}")));
            }
            (&hyper::Method::POST, identity::TOKEN_PATH) => {
                let body = read_body(body).await?;
                let now = OffsetDateTime::now_utc().unix_timestamp();
                return Ok(identity::token(dir, &shared.key, &parts.headers, &body, now));
            }
            _ => {}
        }
    }
    let (route, path_parameters) = route(&parts)?;
    let domain_name = domain_name(&parts, shared.local_addr).ok_or(Refusal::BadHost)?;
    let body = read_body(body).await?;
    let now = OffsetDateTime::now_utc();
    // Public pages have no authorizer in API Gateway (`Auth: Authorizer: NONE`): their events carry no claims.
    let claims = match route.kind {
        Kind::Api => {
            api_token(&parts.headers).and_then(|token| shared.key.authorizer_claims(token, now.unix_timestamp()))
        }
        // A portal's public resources answer anyone, and say more to a caller whose token is valid (`portals/self`
        // names them); a missing or invalid token is no refusal there.
        Kind::Portal | Kind::PortalPublic => portal_token(&parts.headers, parts.uri.query().unwrap_or_default())
            .and_then(|token| shared.key.authorizer_claims(&token, now.unix_timestamp())),
        Kind::Page | Kind::Public => None,
    };
    let cx = EventContext {
        route,
        path_parameters: &path_parameters,
        request_id,
        source_ip: peer.ip(),
        domain_name: &domain_name,
        port: shared.local_addr.port(),
        scheme,
        claims,
        now,
    };
    let event = event::build(&parts, &body, &cx).to_string();
    let app = Arc::clone(&shared.app);
    // Run apart, as Lambda does, so that a panicking handler fails its own request with a 500, not the connection.
    let response = tokio::spawn(invoke(route, app, event)).await.map_err(|_| Refusal::Failed)??;
    Ok(into_hyper(response))
}

/// `GET /openapi.yaml`: the API's description, for clients and contract tests.
fn openapi() -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(OPENAPI.as_bytes())));
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/yaml"));
    response
}

/// What the Lambda runtime does with an event: parse it and call the function.
async fn invoke(route: &'static Route, app: Arc<App>, event: String) -> Result<lambda_http::Response<Body>, Refusal> {
    let request = lambda_http::request::from_str(&event).map_err(|error| {
        // Only where it failed: the message could quote a header or the body.
        tracing::error!(category = ?error.classify(), column = error.column(), "the event did not parse");
        Refusal::Failed
    })?;
    Ok(route.call(app, request).await)
}

/// A route with the `{name}` parameters a request path gave it.
type Matched = (&'static Route, Vec<(String, String)>);

/// The route serving this method and path, or why there is none.
fn route(parts: &Parts) -> Result<Matched, Refusal> {
    let (method, path) = (parts.method.as_str(), parts.uri.path());
    if let Some(found) = find(method, path).or_else(|| find_greedy(path)) {
        return Ok(found);
    }
    let allowed: Vec<&'static str> =
        ROUTES.iter().filter(|r| match_path(r.path, path).is_some()).flat_map(Route::methods).collect();
    let (method, path) = (method.to_owned(), path.to_owned());
    Err(if allowed.is_empty() {
        Refusal::NoRoute { method, path }
    } else {
        Refusal::WrongMethod { method, path, allowed }
    })
}

/// The host the client addressed: its `Host` header, else (HTTP/2) the URI's authority, else this server.
fn domain_name(parts: &Parts, local: std::net::SocketAddr) -> Option<String> {
    let host = match parts.headers.get(HOST) {
        Some(value) => value.to_str().ok()?.to_owned(),
        None => parts.uri.authority().map_or_else(|| local.to_string(), |a| a.as_str().to_owned()),
    };
    is_valid_host(&host).then_some(host)
}

/// `lambda_http` builds the request URI from the host and panics on one it cannot parse; API Gateway would never
/// pass such a host on, so it is refused here: host-name characters only, forming a URL that parses.
fn is_valid_host(host: &str) -> bool {
    !host.is_empty()
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b))
        && url::Url::parse(&format!("http://{host}/")).is_ok()
}

async fn read_body(body: Incoming) -> Result<Bytes, Refusal> {
    match Limited::new(body, MAX_READ_BYTES).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) if error.downcast_ref::<LengthLimitError>().is_some() => Err(Refusal::BodyTooLarge),
        Err(_) => Err(Refusal::BodyUnreadable),
    }
}

fn into_hyper(response: lambda_http::Response<Body>) -> Response<Full<Bytes>> {
    let (parts, body) = response.into_parts();
    let bytes = match body {
        Body::Empty => Bytes::new(),
        Body::Text(text) => Bytes::from(text),
        Body::Binary(bytes) => Bytes::from(bytes),
        other => Bytes::copy_from_slice(other.as_ref()),
    };
    Response::from_parts(parts, Full::new(bytes))
}

/// A request answered here, before (or instead of) any operation.
#[derive(Debug)]
enum Refusal {
    NoRoute { method: String, path: String },
    WrongMethod { method: String, path: String, allowed: Vec<&'static str> },
    BadHost,
    BodyTooLarge,
    BodyUnreadable,
    Failed,
}

impl Refusal {
    fn status(&self) -> StatusCode {
        match self {
            Self::NoRoute { .. } => StatusCode::NOT_FOUND,
            Self::WrongMethod { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::BadHost | Self::BodyTooLarge | Self::BodyUnreadable => StatusCode::BAD_REQUEST,
            Self::Failed => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn reason(&self) -> String {
        match self {
            Self::NoRoute { method, path } | Self::WrongMethod { method, path, .. } => {
                format!("No operation is served at {method} {path}.")
            }
            Self::BadHost => "The Host header does not name a valid host.".into(),
            // The same sentence the handlers give for a body over their limit.
            Self::BodyTooLarge => format!("The body is larger than {} KiB.", MAX_BODY_BYTES / 1024),
            Self::BodyUnreadable => "The request body could not be read.".into(),
            Self::Failed => "The service failed to complete the request.".into(),
        }
    }

    fn resolution(&self) -> String {
        match self {
            Self::NoRoute { .. } => "Check the method and path against the API reference.".into(),
            Self::WrongMethod { allowed, .. } => format!("Use a method this path serves: {}.", allowed.join(", ")),
            Self::BadHost | Self::BodyTooLarge | Self::BodyUnreadable => {
                "Correct the request as the reason says and send it again.".into()
            }
            Self::Failed => "Try again; if it persists, look in the server's log for the OperationId.".into(),
        }
    }

    /// What kind of refusal this is, for the log.
    fn kind(&self) -> &'static str {
        match self {
            Self::NoRoute { .. } => "no_route",
            Self::WrongMethod { .. } => "wrong_method",
            Self::BadHost => "bad_host",
            Self::BodyTooLarge => "body_too_large",
            Self::BodyUnreadable => "body_unreadable",
            Self::Failed => "failed",
        }
    }

    fn into_response(self, request_id: &str) -> Response<Full<Bytes>> {
        let status = self.status();
        let reason = self.reason();
        // The log names the refusal's kind only: its sentence quotes the path, which can carry a secret (a
        // platform invitation's code in `signupUser/{code}`, an invitation id and token in a mistyped link).
        let kind = self.kind();
        if status.is_server_error() {
            tracing::error!(operation_id = request_id, status = status.as_u16(), kind, "failed");
        } else {
            tracing::info!(operation_id = request_id, status = status.as_u16(), kind, "refused");
        }
        let resolution = self.resolution();
        let body = ErrorResponse {
            operation_id: request_id,
            error: status.canonical_reason().unwrap_or("Error"),
            reason: &reason,
            resolution: &resolution,
        };
        let mut response = Response::new(Full::new(Bytes::from(serde_json::to_vec(&body).unwrap_or_default())));
        *response.status_mut() = status;
        response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(rsvp::http::response::JSON));
        if let Self::WrongMethod { allowed, .. } = &self
            && let Ok(value) = HeaderValue::from_str(&allowed.join(", "))
        {
            response.headers_mut().insert(ALLOW, value);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use hyper::Method;

    use super::*;

    fn parts(method: Method, uri: &str, headers: &[(HeaderName, &str)]) -> Parts {
        let mut builder = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            builder = builder.header(name, *value);
        }
        builder.body(()).unwrap().into_parts().0
    }

    #[test]
    fn unknown_paths_and_methods_are_told_apart() {
        let path = "/api/v1-preview/communities";
        assert!(route(&parts(Method::POST, path, &[])).is_ok());
        match route(&parts(Method::PATCH, path, &[])) {
            Err(Refusal::WrongMethod { allowed, .. }) => assert_eq!(allowed, vec!["POST", "GET"]),
            other => panic!("expected 405, got {other:?}"),
        }
        assert!(matches!(route(&parts(Method::GET, "/nope", &[])), Err(Refusal::NoRoute { .. })));
    }

    #[test]
    fn hosts_that_would_break_the_request_uri_are_refused() {
        let local: SocketAddr = "127.0.0.1:3000".parse().unwrap();
        for good in ["localhost:3000", "127.0.0.1", "[::1]:8080", "api.example.com"] {
            let parts = parts(Method::GET, "/", &[(HOST, good)]);
            assert_eq!(domain_name(&parts, local).as_deref(), Some(good));
        }
        for bad in ["a{b", "999.1.1.1", "host:99999", "user@host", "[zz]", ""] {
            assert_eq!(domain_name(&parts(Method::GET, "/", &[(HOST, bad)]), local), None, "{bad}");
        }
        assert_eq!(domain_name(&parts(Method::GET, "/", &[]), local).as_deref(), Some("127.0.0.1:3000"));
    }
}
