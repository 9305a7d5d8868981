//! [`Answer`]: what came back from the server, read whole.

use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// What came back: the status, the headers, the body as text and as JSON.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    /// The body as it came.
    pub text: String,
    /// The body as JSON: `Null` when there is none, and the text as a JSON string when it is not JSON (a page, a
    /// download). Under `/api/` every body is JSON or nothing: anything else fails the test as it is read.
    pub body: Value,
}

impl Answer {
    /// Reads `response` whole.
    pub async fn read(response: reqwest::Response) -> Self {
        let status = response.status();
        let headers = response.headers().clone();
        let url = response.url().clone();
        let text = response.text().await.expect("a readable body");
        let body = if text.is_empty() {
            Value::Null
        } else {
            match serde_json::from_str(&text) {
                Ok(json) => json,
                Err(e) if url.path().starts_with("/api/") => {
                    panic!("{url} answered a body that is not JSON ({e}): {text}")
                }
                Err(_) => Value::String(text.clone()),
            }
        };
        Self { status, headers, text, body }
    }

    /// The value of header `name`, if it has one (and it is text).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn retry_after(&self) -> Option<&str> {
        self.header("retry-after")
    }

    pub fn content_type(&self) -> Option<&str> {
        self.header("content-type")
    }

    /// The `Operation-Id` header, which names the request as the body's `OperationId` does.
    pub fn operation_id(&self) -> Option<&str> {
        self.header("operation-id")
    }

    /// The `Link` header (the next page's).
    pub fn link(&self) -> Option<&str> {
        self.header("link")
    }

    /// Whether this is the replay of an earlier answer (`Idempotent-Replayed: true`).
    pub fn replayed(&self) -> bool {
        self.header("idempotent-replayed") == Some("true")
    }

    /// The download's file name (`Content-Disposition: ...; filename="..."`), if the answer is one.
    pub fn file_name(&self) -> Option<&str> {
        let disposition = self.header("content-disposition")?;
        disposition.split_once("filename=\"").map(|(_, name)| name.trim_end_matches('"'))
    }

    /// Asserts the API's `ErrorResponse` with this status whose `Reason` contains `reason`: every field there, and
    /// as ADH answers, the request named in a header equal to the body's `OperationId`, and a content type its
    /// client reads the body under (exactly `application/json`).
    pub fn assert_error(&self, status: StatusCode, reason: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        for field in ["OperationId", "Error", "Reason", "Resolution"] {
            assert!(self.body[field].as_str().is_some_and(|v| !v.is_empty()), "{field} missing in {}", self.body);
        }
        let actual = self.body["Reason"].as_str().unwrap_or_default();
        assert!(actual.contains(reason), "Reason {actual:?} should mention {reason:?}");
        assert_eq!(self.operation_id(), self.body["OperationId"].as_str(), "Operation-Id header");
        assert_eq!(self.content_type(), Some("application/json"));
    }
}
