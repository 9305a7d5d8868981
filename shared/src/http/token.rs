//! Where a caller's bearer token travels, and what a verified token's claims look like to a function.
//!
//! The API routes take the token as API Gateway's JWT authorizer does, from `Authorization: Bearer`. The portal
//! routes also take it where Esri's clients put it: `X-Esri-Authorization: Bearer` (the ArcGIS API for Python
//! sends this) or the `token` query parameter (ArcGIS REST's own convention). Both authorizers — the local server's
//! and the portal routes' Lambda authorizer (`rsvp::authorizer`, feature `authorizer`) — read it with
//! [`portal_token`], so a token placed one way works the same on a laptop and in AWS. A `token` in a form body is not read: a Lambda authorizer
//! never sees the request body.

use std::collections::BTreeMap;

use lambda_http::http::HeaderMap;
use lambda_http::http::header::AUTHORIZATION;
use serde_json::{Map, Value};

/// Longer tokens are refused before any decoding, so a hostile header costs a bounded amount of work.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// The header Esri's clients send their token in.
pub const ESRI_AUTHORIZATION: &str = "x-esri-authorization";

/// The token of a `Bearer <token>` header value (the scheme in any letter case).
pub fn bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && token.len() <= MAX_TOKEN_BYTES).then_some(token)
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn api_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers.get(AUTHORIZATION)?.to_str().ok()?)
}

/// A portal route's token: `Authorization: Bearer`, else `X-Esri-Authorization: Bearer`, else the `token`
/// parameter of the query string (`raw_query`, without the `?`). A `token` parameter given twice names no token:
/// the request is ambiguous, and picking one would let a proxy's and a client's copies disagree.
pub fn portal_token(headers: &HeaderMap, raw_query: &str) -> Option<String> {
    if let Some(token) = api_token(headers) {
        return Some(token.to_owned());
    }
    if let Some(token) = headers.get(ESRI_AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(bearer) {
        return Some(token.to_owned());
    }
    let mut tokens = url::form_urlencoded::parse(raw_query.as_bytes()).filter(|(name, _)| name == "token");
    match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) if !token.is_empty() && token.len() <= MAX_TOKEN_BYTES => Some(token.into_owned()),
        _ => None,
    }
}

/// Claims as API Gateway's JWT authorizer hands them to a function: every value a string, arrays written as
/// `[a b]` and objects as `map[k:v]` (Go's formatting, which API Gateway uses), `null`s left out. The portal
/// routes' Lambda authorizer passes its claims on in the same form, so [`crate::http::request::principal`] reads
/// both alike.
pub fn flatten_claims(claims: &Map<String, Value>) -> BTreeMap<String, String> {
    claims.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), flatten(v))).collect()
}

fn flatten(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::Array(items) => format!("[{}]", items.iter().map(flatten).collect::<Vec<_>>().join(" ")),
        Value::Object(map) => {
            let mut entries: Vec<String> = map.iter().map(|(k, v)| format!("{k}:{}", flatten(v))).collect();
            entries.sort_unstable();
            format!("map[{}]", entries.join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::HeaderValue;
    use serde_json::json;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_bearer_tokens_are_read() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer(&format!("Bearer {}", "a".repeat(MAX_TOKEN_BYTES + 1))), None);
    }

    #[test]
    fn a_portal_token_is_read_from_each_place_esri_clients_put_it_in_that_order() {
        let none = HeaderMap::new();
        assert_eq!(portal_token(&headers(&[("authorization", "Bearer a")]), "token=c").as_deref(), Some("a"));
        assert_eq!(portal_token(&headers(&[("x-esri-authorization", "Bearer b")]), "token=c").as_deref(), Some("b"));
        assert_eq!(portal_token(&none, "f=json&token=c%2Bd").as_deref(), Some("c+d"));
        assert_eq!(portal_token(&none, "f=json"), None);
        assert_eq!(portal_token(&none, "token="), None);
        assert_eq!(portal_token(&none, "token=a&token=b"), None, "two tokens name none");
        assert_eq!(portal_token(&headers(&[("x-esri-authorization", "b")]), ""), None, "no scheme, no token");
    }

    #[test]
    fn claims_are_flattened_as_api_gateway_does() {
        let claims =
            json!({ "sub": "u", "roles": ["a", "b"], "n": 3, "ok": true, "gone": null, "m": {"y": 1, "x": [2]} });
        let flat = flatten_claims(claims.as_object().unwrap());
        assert_eq!(flat["roles"], "[a b]");
        assert_eq!(flat["n"], "3");
        assert_eq!(flat["ok"], "true");
        assert_eq!(flat["m"], "map[x:[2] y:1]");
        assert!(!flat.contains_key("gone"));
    }
}
