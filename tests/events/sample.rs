//! Reading the sample events of `events/`: the instant they are sent at, where each route's event lives and the
//! request it parses to, and the parts of an answer (its JSON, its ids, a download, a signed file) and of an event
//! (its form body) that the checks look at.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::{Body, Request, Response};
use rsvp::domain::Timestamp;
use rsvp::routes::Route;
use serde_json::Value;
use serde_json::value::RawValue;

/// The instant every event is sent at (2026-03-02T09:00:00Z), matching the events' `requestContext.timeEpoch`.
pub(crate) const NOW: Timestamp = Timestamp::from_millis(1_772_442_000_000);

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn event_path(route: &Route) -> PathBuf {
    repo_root().join("events").join(format!("{}.json", route.operation.replace('_', "-")))
}

/// `route`'s sample event as `lambda_http` reads it in Lambda: API Gateway's HTTP API payload 2.0.
pub(crate) fn request(route: &Route) -> Request {
    let path = event_path(route);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{} is not an HTTP API event: {e}", path.display()))
}

/// An answer's body as text: empty when it has none, a binary one read lossily.
pub(crate) fn body_text(response: &Response<Body>) -> String {
    match response.body() {
        Body::Text(t) => t.clone(),
        Body::Empty => String::new(),
        Body::Binary(b) => String::from_utf8_lossy(b).into_owned(),
        _ => String::new(),
    }
}

pub(crate) fn json(response: &Response<Body>) -> Value {
    let text = match response.body() {
        Body::Text(text) => text.as_str(),
        other => panic!("expected a JSON text body, got {other:?}"),
    };
    serde_json::from_str(text).unwrap_or_else(|e| panic!("body is not JSON ({e}): {text}"))
}

pub(crate) fn ids(list: &Value) -> Vec<&str> {
    list.as_array().expect("a JSON array").iter().map(|item| item["Id"].as_str().expect("an Id")).collect()
}

/// A form-encoded (`application/x-www-form-urlencoded`) body's parameters.
fn form_params(body: &[u8]) -> Vec<(String, String)> {
    fn decode(text: &str) -> String {
        let bytes = text.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' => {
                    let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).expect("a %XX escape");
                    out.push(u8::from_str_radix(hex, 16).expect("a %XX escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).unwrap()
    }
    std::str::from_utf8(body)
        .unwrap()
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(name), decode(value))
        })
        .collect()
}

/// An event's form-encoded body (base64, as API Gateway sends a form), as parameters.
pub(crate) fn event_form(route: &Route) -> Vec<(String, String)> {
    let event: Value = serde_json::from_str(&std::fs::read_to_string(event_path(route)).unwrap()).unwrap();
    assert_eq!(event["isBase64Encoded"], true, "{}: a form arrives base64-encoded", route.operation);
    form_params(&STANDARD.decode(event["body"].as_str().unwrap()).unwrap())
}

pub(crate) fn form_value(form: &[(String, String)], name: &str) -> String {
    form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_else(|| panic!("no {name}"))
}

/// A download's file name and its text.
pub(crate) fn download(response: &Response<Body>) -> (String, String) {
    let headers = response.headers();
    assert_eq!(headers["content-type"], "application/octet-stream");
    let disposition = headers["content-disposition"].to_str().unwrap().to_owned();
    let name = disposition
        .strip_prefix("attachment; filename=\"")
        .and_then(|rest| rest.strip_suffix('"'))
        .unwrap_or_else(|| panic!("not an attachment: {disposition}"))
        .to_owned();
    let Body::Text(text) = response.body() else { panic!("a file is text") };
    (name, text.clone())
}

/// A signed file's payload (its exact text) and signature.
pub(crate) fn signed_parts(file: &str, field: &str) -> (String, String) {
    let parts: HashMap<String, Box<RawValue>> =
        serde_json::from_str(file).unwrap_or_else(|e| panic!("the file is not JSON ({e}): {file}"));
    let payload = parts.get(field).unwrap_or_else(|| panic!("no {field}: {file}")).get().to_owned();
    let signature = serde_json::from_str(parts.get("signature").expect("a signature").get()).unwrap();
    (payload, signature)
}
