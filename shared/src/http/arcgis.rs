//! The ArcGIS edge of the portal routes: parameters from the query string and a form-encoded or multipart body,
//! the `f` format (`json`, `pjson` or `html`), answers in that format, file downloads, and the dialect's error body
//! `{"error": {"code", "message", "details"}}` ([`ApiError::into_arcgis`]).
//!
//! Every input has a limit: the body (64 KiB, as everywhere), the number of parameters, each value's size and the
//! multipart parts; a parameter sent twice is refused rather than one of its values picked.

use askama::Template;
use bytes::Bytes;
use lambda_http::http::{HeaderValue, StatusCode, header};
use lambda_http::{Body, Request, RequestExt, Response};
use serde::Serialize;

use super::ApiError;
use super::request::{MAX_BODY_BYTES, body_bytes};

/// The most parameters one request may carry.
pub const MAX_PARAMS: usize = 40;
/// The largest single parameter or file, in bytes.
pub const MAX_PARAM_BYTES: usize = 48 * 1024;

/// The request's parameters: its query string and body together, each name once.
#[derive(Debug, Default)]
pub struct Params {
    values: Vec<(String, String)>,
}

impl Params {
    /// The value of `name`, if it was sent and is not empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.values.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.trim().is_empty())
    }

    /// The value of `name`, or a 400 naming it.
    pub fn required(&self, name: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| ApiError::bad_request(format!("{name} is required.")))
    }

    fn insert(&mut self, name: String, value: String) -> Result<(), ApiError> {
        if self.values.iter().any(|(n, _)| *n == name) {
            let shown: String = name.chars().take(40).collect();
            return Err(ApiError::bad_request(format!("{shown} is given more than once.")));
        }
        if self.values.len() >= MAX_PARAMS {
            return Err(ApiError::bad_request(format!("A request takes at most {MAX_PARAMS} parameters.")));
        }
        if value.len() > MAX_PARAM_BYTES {
            let shown: String = name.chars().take(40).collect();
            return Err(ApiError::bad_request(format!("{shown} is larger than {} KiB.", MAX_PARAM_BYTES / 1024)));
        }
        self.values.push((name, value));
        Ok(())
    }
}

/// Reads every parameter: the query string, then a body of `application/x-www-form-urlencoded` or
/// `multipart/form-data` (a file part is read as text: the dialect's files are JSON). Another body type is a 400.
pub async fn params(req: &Request) -> Result<Params, ApiError> {
    let mut params = Params::default();
    if let Some(query) = req.query_string_parameters_ref() {
        let mut names: Vec<&str> = query.iter().map(|(name, _)| name).collect();
        names.dedup();
        for name in names {
            let values = query.all(name).unwrap_or_default();
            if values.len() > 1 {
                let shown: String = name.chars().take(40).collect();
                return Err(ApiError::bad_request(format!("{shown} is given more than once.")));
            }
            params.insert(name.to_owned(), values.first().map(|v| (*v).to_owned()).unwrap_or_default())?;
        }
    }
    let body = body_bytes(req);
    if body.is_empty() {
        return Ok(params);
    }
    if body.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!("The body is larger than {} KiB.", MAX_BODY_BYTES / 1024)));
    }
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    match essence.as_str() {
        "application/x-www-form-urlencoded" => {
            for (name, value) in url::form_urlencoded::parse(body) {
                params.insert(name.into_owned(), value.into_owned())?;
            }
        }
        "multipart/form-data" => {
            let boundary = multer::parse_boundary(content_type)
                .map_err(|_| ApiError::bad_request("The multipart body names no boundary."))?;
            let bytes = Bytes::copy_from_slice(body);
            let stream = futures_util::stream::once(async move { Ok::<_, std::convert::Infallible>(bytes) });
            let limits = multer::Constraints::new().size_limit(
                multer::SizeLimit::new().whole_stream(MAX_BODY_BYTES as u64).per_field(MAX_PARAM_BYTES as u64),
            );
            let mut multipart = multer::Multipart::with_constraints(stream, boundary, limits);
            let malformed = |e: multer::Error| ApiError::bad_request(format!("The multipart body is not valid: {e}."));
            while let Some(field) = multipart.next_field().await.map_err(malformed)? {
                let name =
                    field.name().map(str::to_owned).ok_or_else(|| ApiError::bad_request("A part has no name."))?;
                let value = field.text().await.map_err(malformed)?;
                params.insert(name, value)?;
            }
        }
        _ => {
            return Err(ApiError::bad_request(
                "The body must be application/x-www-form-urlencoded or multipart/form-data.",
            ));
        }
    }
    Ok(params)
}

/// The `f` parameter: how an answer is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    /// Indented JSON.
    Pjson,
    /// The same data as a page.
    Html,
}

impl Format {
    /// `f` from the parameters; JSON when absent (rsvp is an API), a 400 for anything but json, pjson or html.
    pub fn of(params: &Params) -> Result<Self, ApiError> {
        match params.get("f") {
            None | Some("json") => Ok(Self::Json),
            Some("pjson") => Ok(Self::Pjson),
            Some("html") => Ok(Self::Html),
            Some(_) => Err(ApiError::bad_request("f must be json, pjson or html.")),
        }
    }
}

/// A data page for `f=html`: the answer's JSON, escaped, under the pages' headers.
#[derive(Template)]
#[template(path = "page/data.html")]
struct DataPage<'a> {
    style: &'static str,
    title: &'a str,
    json: &'a str,
}

/// `body` in `format`, with `status`.
pub fn answer<T: Serialize>(format: Format, status: StatusCode, title: &str, body: &T) -> Response<Body> {
    match format {
        Format::Json => super::response::json(status, body),
        Format::Pjson => {
            let text = serde_json::to_string_pretty(body).unwrap_or_default();
            super::response::json_text(status, text)
        }
        Format::Html => {
            let json = serde_json::to_string_pretty(body).unwrap_or_default();
            super::page::render(status, &DataPage { style: super::page::STYLE, title, json: &json })
        }
    }
}

/// A file download: `content` as an attachment named `file_name` (a name rsvp made: host names and fixed words).
pub fn download(file_name: &str, content: String) -> Response<Body> {
    let mut response = Response::new(Body::Text(content));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let safe: String = file_name.chars().filter(|c| c.is_ascii_alphanumeric() || "-._".contains(*c)).collect();
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// The dialect's error body.
#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: u16,
    message: &'a str,
    details: Vec<String>,
}

impl ApiError {
    /// The portal routes' wire form: `{"error": {"code": <status>, "message", "details": [the request id]}}` with
    /// that status.
    pub fn into_arcgis(self, operation_id: &str) -> Response<Body> {
        let status = self.status();
        let message = self.public_reason();
        let body = ErrorBody {
            error: ErrorDetail {
                code: status.as_u16(),
                message: &message,
                details: vec![format!("requestId: {operation_id}")],
            },
        };
        self.with_retry_after(super::response::json(status, &body))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(content_type: &str, body: &str, query: &str) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method("POST")
            .uri(format!("https://portal.example/x?{query}"))
            .header(header::CONTENT_TYPE, content_type);
        builder = builder.header("host", "portal.example");
        let req = builder.body(Body::Text(body.to_owned())).unwrap();
        let query: std::collections::HashMap<String, Vec<String>> =
            url::form_urlencoded::parse(query.as_bytes()).fold(std::collections::HashMap::new(), |mut m, (k, v)| {
                m.entry(k.into_owned()).or_default().push(v.into_owned());
                m
            });
        req.with_query_string_parameters(query)
    }

    #[tokio::test]
    async fn form_multipart_and_query_parameters_are_read_with_limits() {
        let form = request("application/x-www-form-urlencoded", "guestPortalUrl=https%3A%2F%2Fg.example&f=pjson", "");
        let p = params(&form).await.unwrap();
        assert_eq!((p.get("guestPortalUrl"), Format::of(&p).unwrap()), (Some("https://g.example"), Format::Pjson));

        let body = "--b\r\nContent-Disposition: form-data; name=\"invitationFile\"; filename=\"x.invite\"\r\n\
                    Content-Type: application/octet-stream\r\n\r\n{\"a\":1}\r\n--b\r\nContent-Disposition: form-data; \
                    name=\"f\"\r\n\r\njson\r\n--b--\r\n";
        let p = params(&request("multipart/form-data; boundary=b", body, "")).await.unwrap();
        assert_eq!(p.get("invitationFile"), Some("{\"a\":1}"));

        let twice = request("application/x-www-form-urlencoded", "f=json", "f=html");
        assert!(params(&twice).await.is_err(), "a parameter given twice is refused");
        assert!(params(&request("multipart/form-data; boundary=b", "--b\r\ngarbage", "")).await.is_err());
        assert!(params(&request("text/plain", "hello", "")).await.is_err());
        let huge = format!("x={}", "a".repeat(MAX_PARAM_BYTES + 1));
        assert!(params(&request("application/x-www-form-urlencoded", &huge, "")).await.is_err());
        let bad_f = params(&request("application/x-www-form-urlencoded", "f=xml", "")).await.unwrap();
        assert!(Format::of(&bad_f).is_err());
    }

    #[test]
    fn errors_and_downloads_take_the_dialects_shape() {
        let response = ApiError::NotFound("Collaboration x was not found.".into()).into_arcgis("req-1");
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        let Body::Text(text) = response.body() else { panic!("a text body") };
        let body: serde_json::Value = serde_json::from_str(text).unwrap();
        assert_eq!(body["error"]["code"], 404);
        assert_eq!(body["error"]["message"], "Collaboration x was not found.");
        let file = download("collaboration-guest.example.invite\"\r\nX: y", "{}".into());
        assert_eq!(
            file.headers()[header::CONTENT_DISPOSITION],
            "attachment; filename=\"collaboration-guest.example.inviteXy\""
        );
        let page = answer(Format::Html, StatusCode::OK, "Portal", &serde_json::json!({"name": "<b>x</b>"}));
        let Body::Text(html) = page.body() else { panic!("a page") };
        assert!(html.contains("&#60;b&#62;x") && !html.contains("<b>x"));
    }
}
