use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, Response};
use serde::Serialize;

use crate::store::{Cursor, PageRequest};

/// The content type of every JSON answer: exactly `application/json`, as ADH sends it. JSON is UTF-8 by
/// definition (RFC 8259) and the type defines no `charset` parameter; ADH's client reads an error body only when the
/// header is exactly this.
pub const JSON: &str = "application/json";

/// The response header naming the request, as ADH's answers carry it; it equals an error body's `OperationId`.
pub const OPERATION_ID: &str = "operation-id";

/// A JSON answer. Serialising our own response types cannot fail; if it ever did, the caller gets a 500, not a panic.
pub fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    match serde_json::to_string(body) {
        Ok(text) => with_body(status, JSON, text),
        Err(_) => {
            with_body(StatusCode::INTERNAL_SERVER_ERROR, "text/plain; charset=utf-8", "serialisation failed".into())
        }
    }
}

/// A JSON answer whose body is already serialised (a replayed one).
pub fn json_text(status: StatusCode, text: String) -> Response<Body> {
    with_body(status, JSON, text)
}

/// An answer with no body (204, or 200/202 where the reference API defines none).
pub fn empty(status: StatusCode) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = status;
    response
}

fn with_body(status: StatusCode, content_type: &'static str, text: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(text));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// A page of a list: 200 with `items`, and `Link: <next>; rel="next"` when more follow `next`, keeping the
/// request's `filters` (the query parameters the list reads besides paging).
pub fn page<T: Serialize>(
    req: &Request,
    paging: &PageRequest,
    next: Option<&Cursor>,
    filters: &[&str],
    items: &T,
) -> Response<Body> {
    with_next_link(json(StatusCode::OK, items), super::request::next_page_url(req, paging, next, filters))
}

/// Adds `Link: <next>; rel="next"` when there is a next page.
fn with_next_link(mut response: Response<Body>, next: Option<String>) -> Response<Body> {
    if let Some(url) = next
        && let Ok(value) = HeaderValue::from_str(&format!("<{url}>; rel=\"next\""))
    {
        response.headers_mut().insert(header::LINK, value);
    }
    response
}
