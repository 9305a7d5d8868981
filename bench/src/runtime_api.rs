//! A minimal Lambda Runtime API (the `2018-06-01` interface a custom runtime polls), served by the bench so that
//! a release function binary runs exactly as Lambda runs it: it long-polls `invocation/next` for an event and
//! posts the answer to `invocation/{id}/response` (or an error to `invocation/{id}/error` / `init/error`).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

const PREFIX: &str = "/2018-06-01/runtime/";

/// Which Runtime API endpoint a request is for.
#[derive(Debug, PartialEq, Eq)]
pub enum Endpoint<'a> {
    Next,
    Response(&'a str),
    Error(&'a str),
    InitError,
}

/// Maps a method and path to its endpoint; `None` for anything the Runtime API does not serve.
pub fn endpoint<'a>(method: &Method, path: &'a str) -> Option<Endpoint<'a>> {
    let rest = path.strip_prefix(PREFIX)?;
    match (method, rest) {
        (&Method::GET, "invocation/next") => Some(Endpoint::Next),
        (&Method::POST, "init/error") => Some(Endpoint::InitError),
        (&Method::POST, rest) => {
            let rest = rest.strip_prefix("invocation/")?;
            let valid = |id: &str| !id.is_empty() && !id.contains('/');
            if let Some(id) = rest.strip_suffix("/response").filter(|id| valid(id)) {
                Some(Endpoint::Response(id))
            } else {
                rest.strip_suffix("/error").filter(|id| valid(id)).map(Endpoint::Error)
            }
        }
        _ => None,
    }
}

/// What the function did with an invocation (or its init), and when the bench heard of it.
#[derive(Debug)]
pub enum Outcome {
    Response { id: String, body: Bytes, at: Instant },
    Error { id: String, body: Bytes },
    InitError { body: Bytes },
}

impl Outcome {
    /// One line for an error message.
    pub fn describe(&self) -> String {
        let text = |b: &Bytes| String::from_utf8_lossy(b).chars().take(500).collect::<String>();
        match self {
            Outcome::Response { id, body, .. } => format!("response to {id}: {}", text(body)),
            Outcome::Error { id, body } => format!("invocation error for {id}: {}", text(body)),
            Outcome::InitError { body } => format!("init error: {}", text(body)),
        }
    }
}

struct Invocation {
    id: String,
    event: Bytes,
}

struct State {
    events: Mutex<mpsc::UnboundedReceiver<Invocation>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    function_arn: String,
}

/// A running Runtime API on 127.0.0.1 with a free port; it stops when dropped.
pub struct RuntimeApi {
    addr: SocketAddr,
    events: mpsc::UnboundedSender<Invocation>,
    outcomes: mpsc::UnboundedReceiver<Outcome>,
    server: JoinHandle<()>,
}

impl RuntimeApi {
    pub async fn start(function_name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let (events, events_rx) = mpsc::unbounded_channel();
        let (outcomes_tx, outcomes) = mpsc::unbounded_channel();
        let state = Arc::new(State {
            events: Mutex::new(events_rx),
            outcomes: outcomes_tx,
            function_arn: format!("arn:aws:lambda:us-east-1:123456789012:function:{function_name}"),
        });
        let server = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| serve(Arc::clone(&state), req));
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Self { addr, events, outcomes, server })
    }

    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Queues one event for the function's next poll; returns its request id.
    pub fn enqueue(&self, event: &serde_json::Value) -> String {
        let id = uuid::Uuid::new_v4().to_string();
        let _ = self.events.send(Invocation { id: id.clone(), event: Bytes::from(event.to_string()) });
        id
    }

    /// The next outcome the function reported, or an error if none came within `timeout`.
    pub async fn outcome(&mut self, timeout: Duration) -> Result<Outcome, String> {
        match tokio::time::timeout(timeout, self.outcomes.recv()).await {
            Ok(Some(outcome)) => Ok(outcome),
            Ok(None) => Err("the runtime API stopped".into()),
            Err(_) => Err(format!("no answer within {timeout:?}")),
        }
    }

    /// Queues `event` and waits for the answer to it: the time from queueing to the posted response, and the body.
    pub async fn invoke(&mut self, event: &serde_json::Value, timeout: Duration) -> Result<(Duration, Bytes), String> {
        let start = Instant::now();
        let id = self.enqueue(event);
        match self.outcome(timeout).await? {
            Outcome::Response { id: got, body, at } if got == id => Ok((at - start, body)),
            other => Err(format!("unexpected outcome for {id}: {}", other.describe())),
        }
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn reply(status: StatusCode, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
}

async fn serve(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (parts, body) = req.into_parts();
    let Some(endpoint) = endpoint(&parts.method, parts.uri.path()) else {
        return Ok(reply(StatusCode::NOT_FOUND, Bytes::from_static(b"{\"errorMessage\":\"not found\"}")));
    };
    if endpoint == Endpoint::Next {
        let next = state.events.lock().await.recv().await;
        let Some(invocation) = next else {
            return Ok(reply(StatusCode::GONE, Bytes::new()));
        };
        let deadline = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default() + Duration::from_secs(30);
        let mut response = reply(StatusCode::OK, invocation.event);
        let headers = response.headers_mut();
        let mut set = |name: &'static str, value: String| {
            if let Ok(value) = value.parse() {
                headers.insert(name, value);
            }
        };
        set("lambda-runtime-aws-request-id", invocation.id);
        set("lambda-runtime-deadline-ms", deadline.as_millis().to_string());
        set("lambda-runtime-invoked-function-arn", state.function_arn.clone());
        set("lambda-runtime-trace-id", "Root=1-00000000-000000000000000000000000;Sampled=0".into());
        set("content-type", "application/json".into());
        return Ok(response);
    }
    let body = body.collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    let outcome = match endpoint {
        Endpoint::Response(id) => Outcome::Response { id: id.to_owned(), body, at: Instant::now() },
        Endpoint::Error(id) => Outcome::Error { id: id.to_owned(), body },
        Endpoint::InitError | Endpoint::Next => Outcome::InitError { body },
    };
    let _ = state.outcomes.send(outcome);
    Ok(reply(StatusCode::ACCEPTED, Bytes::from_static(b"{\"status\":\"OK\"}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_are_recognised() {
        let p = |m: Method, path: &'static str| endpoint(&m, path);
        assert_eq!(p(Method::GET, "/2018-06-01/runtime/invocation/next"), Some(Endpoint::Next));
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation/abc-1/response"), Some(Endpoint::Response("abc-1")));
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation/abc-1/error"), Some(Endpoint::Error("abc-1")));
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/init/error"), Some(Endpoint::InitError));
    }

    #[test]
    fn anything_else_is_not() {
        let p = |m: Method, path: &'static str| endpoint(&m, path);
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation/next"), None);
        assert_eq!(p(Method::GET, "/2018-06-01/runtime/invocation/abc/response"), None);
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation//response"), None);
        assert_eq!(p(Method::POST, "/2018-06-01/runtime/invocation/a/b/response"), None);
        assert_eq!(p(Method::GET, "/2020-01-01/extension/event/next"), None);
    }

    #[tokio::test]
    async fn an_event_goes_out_and_its_response_comes_back() {
        let mut api = RuntimeApi::start("f").await.unwrap();
        let addr = api.address();
        let client = tokio::spawn(async move {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            s.write_all(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                .await
                .unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            let id =
                text.lines().find_map(|l| l.strip_prefix("lambda-runtime-aws-request-id: ")).unwrap().trim().to_owned();
            assert!(text.ends_with("{\"n\":1}"));
            let mut s = tokio::net::TcpStream::connect(&addr).await.unwrap();
            let post = format!(
                "POST /2018-06-01/runtime/invocation/{id}/response HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
                 Connection: close\r\n\r\nok"
            );
            s.write_all(post.as_bytes()).await.unwrap();
            let mut text = String::new();
            s.read_to_string(&mut text).await.unwrap();
            assert!(text.starts_with("HTTP/1.1 202"));
        });
        let (_, body) = api.invoke(&serde_json::json!({"n": 1}), Duration::from_secs(10)).await.unwrap();
        assert_eq!(&body[..], b"ok");
        client.await.unwrap();
    }
}
