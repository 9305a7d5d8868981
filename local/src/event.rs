//! The API Gateway HTTP API event (payload format 2.0) for one request, built the way API Gateway builds it, so
//! that the handlers read requests locally through exactly the code they use in Lambda.

use std::collections::BTreeMap;
use std::net::IpAddr;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use lambda_http::http::header::{COOKIE, HOST, USER_AGENT};
use lambda_http::http::request::Parts;
use rsvp::routes::{Kind, Route};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::format_description;

/// Everything besides the request itself that goes into its event.
pub struct EventContext<'a> {
    pub route: &'static Route,
    /// The route's `{name}` parameters with their values, as [`rsvp::routes::find`] matched them.
    pub path_parameters: &'a [(String, String)],
    pub request_id: &'a str,
    pub source_ip: IpAddr,
    /// The host the client addressed (its `Host` header), already checked to be a valid host.
    pub domain_name: &'a str,
    /// The server's own port, passed on as `x-forwarded-port`.
    pub port: u16,
    /// `http`, or `https` when the server speaks TLS: passed on as `x-forwarded-proto`.
    pub scheme: &'static str,
    /// The verified token's claims, flattened as API Gateway's JWT authorizer does; `None` without one.
    pub claims: Option<BTreeMap<String, String>>,
    pub now: OffsetDateTime,
}

/// The event for a request with `parts` and `body`, as JSON.
pub fn build(parts: &Parts, body: &[u8], cx: &EventContext<'_>) -> Value {
    let (headers, cookies) = headers(parts, cx);
    let query = parts.uri.query().unwrap_or("");
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key(cx.route, parts.method.as_str(), parts.uri.path()),
        "rawPath": parts.uri.path(),
        "rawQueryString": query,
        "headers": headers,
        "requestContext": request_context(parts, cx),
        "isBase64Encoded": false,
    });
    if !cookies.is_empty() {
        event["cookies"] = json!(cookies);
    }
    if let Some(parameters) = query_parameters(query) {
        event["queryStringParameters"] = json!(parameters);
    }
    if !cx.path_parameters.is_empty() {
        let parameters: BTreeMap<&str, &str> =
            cx.path_parameters.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        event["pathParameters"] = json!(parameters);
    }
    if !body.is_empty() {
        let (text, encoded) = encode_body(body);
        event["body"] = json!(text);
        event["isBase64Encoded"] = json!(encoded);
    }
    event
}

/// The route key API Gateway names: the method sent, and the route's spelling of the path that matches it letter
/// for letter (its own path when none does, as the local server also matches other letter cases).
fn route_key(route: &Route, method: &str, path: &str) -> String {
    let exact = route.paths().find(|p| {
        rsvp::routes::match_path(p, path)
            .is_some_and(|_| p.split('/').zip(path.split('/')).all(|(a, b)| a.starts_with('{') || a == b))
    });
    format!("{} {}", method.to_ascii_uppercase(), exact.unwrap_or(route.path))
}

fn request_context(parts: &Parts, cx: &EventContext<'_>) -> Value {
    let user_agent = parts.headers.get(USER_AGENT).map(|v| String::from_utf8_lossy(v.as_bytes())).unwrap_or_default();
    let mut context = json!({
        "accountId": "000000000000",
        "apiId": "rsvp-local",
        "domainName": cx.domain_name,
        "domainPrefix": cx.domain_name.split(['.', ':']).next().unwrap_or_default(),
        "http": {
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "protocol": format!("{:?}", parts.version),
            "sourceIp": cx.source_ip.to_string(),
            "userAgent": user_agent,
        },
        "requestId": cx.request_id,
        "routeKey": route_key(cx.route, parts.method.as_str(), parts.uri.path()),
        "stage": "$default",
        "time": api_gateway_time(cx.now),
        "timeEpoch": cx.now.unix_timestamp() * 1000 + i64::from(cx.now.millisecond()),
    });
    if matches!(cx.route.kind, Kind::Portal | Kind::PortalPublic) {
        // The portal routes' Lambda authorizer passes every request on, with the claims of a verified token as
        // its context, or an empty context when there is none (the operation then answers the dialect's 401, or
        // a public one answers without naming a caller).
        context["authorizer"] = json!({ "lambda": cx.claims.clone().unwrap_or_default() });
    } else if let Some(claims) = &cx.claims {
        context["authorizer"] = json!({ "jwt": { "claims": claims, "scopes": null } });
    }
    context
}

/// `12/Mar/2020:19:03:58 +0000`, API Gateway's `requestContext.time`.
fn api_gateway_time(now: OffsetDateTime) -> String {
    let format = format_description!("[day]/[month repr:short]/[year]:[hour]:[minute]:[second] +0000");
    now.to_offset(time::UtcOffset::UTC).format(&format).unwrap_or_default()
}

/// Headers as API Gateway passes them: lower-case names, repeated ones joined with commas, cookies moved to
/// their own list, `host` always present, and the `x-forwarded-*` headers set by the gateway rather than the
/// client.
fn headers(parts: &Parts, cx: &EventContext<'_>) -> (BTreeMap<String, String>, Vec<String>) {
    let mut headers = BTreeMap::new();
    let mut cookies = Vec::new();
    for name in parts.headers.keys() {
        let values = parts.headers.get_all(name).iter().map(|v| String::from_utf8_lossy(v.as_bytes()));
        if name == COOKIE {
            cookies.extend(values.flat_map(|v| split_cookies(&v)));
        } else {
            headers.insert(name.as_str().to_owned(), values.collect::<Vec<_>>().join(","));
        }
    }
    headers.entry(HOST.as_str().to_owned()).or_insert_with(|| cx.domain_name.to_owned());
    let forwarded_for = match headers.get("x-forwarded-for") {
        Some(earlier) => format!("{earlier}, {}", cx.source_ip),
        None => cx.source_ip.to_string(),
    };
    headers.insert("x-forwarded-for".into(), forwarded_for);
    headers.insert("x-forwarded-port".into(), cx.port.to_string());
    headers.insert("x-forwarded-proto".into(), cx.scheme.into());
    (headers, cookies)
}

fn split_cookies(header: &str) -> Vec<String> {
    header.split(';').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect()
}

/// Decoded query parameters, repeated names' values joined with commas; `None` when there is no query.
fn query_parameters(query: &str) -> Option<BTreeMap<String, String>> {
    let mut grouped: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, value) in url::form_urlencoded::parse(query.as_bytes()) {
        grouped.entry(name.into_owned()).or_default().push(value.into_owned());
    }
    (!grouped.is_empty()).then(|| grouped.into_iter().map(|(name, values)| (name, values.join(","))).collect())
}

/// The body as the event's string: itself when it is UTF-8, else base64 (and the flag that says so).
fn encode_body(body: &[u8]) -> (String, bool) {
    match std::str::from_utf8(body) {
        Ok(text) => (text.to_owned(), false),
        Err(_) => (STANDARD.encode(body), true),
    }
}

#[cfg(test)]
mod tests {
    use lambda_http::http::{Method, Request};
    use lambda_http::request::RequestContext;
    use lambda_http::{Body, RequestExt};
    use rsvp::app::ClaimNames;
    use rsvp::domain::Role;
    use rsvp::http::request::{principal, request_id};
    use rsvp::routes::{PROCESS_INVITATION, find};

    use super::*;
    use crate::token::{SigningKey, TokenClaims, now_epoch_seconds};

    const PATH: &str = "/api/v1-preview/communityinvitations/3fa85f64-5717-4562-b3fc-2c963f66afa6";
    const BODY: &[u8] = &[0xff, 0x00, b'{', 0xc3];

    fn parts() -> Parts {
        Request::builder()
            .method(Method::PUT)
            .uri(format!("{PATH}?action=accept&tag=a&tag=b%20c"))
            .header(HOST, "localhost:3000")
            .header(USER_AGENT, "test-agent")
            .header("x-custom", "one")
            .header("X-Custom", "two")
            .header(COOKIE, "a=1; b=2")
            .header("x-forwarded-proto", "gopher")
            .body(())
            .unwrap()
            .into_parts()
            .0
    }

    fn event(claims: Option<BTreeMap<String, String>>) -> Value {
        let parts = parts();
        let (route, params) = find("PUT", parts.uri.path()).unwrap();
        let cx = EventContext {
            route,
            path_parameters: &params,
            request_id: "req-1",
            source_ip: "127.0.0.1".parse().unwrap(),
            domain_name: "localhost:3000",
            port: 3000,
            scheme: "http",
            claims,
            now: OffsetDateTime::from_unix_timestamp(1_583_348_638).unwrap(),
        };
        build(&parts, BODY, &cx)
    }

    fn minted_claims() -> BTreeMap<String, String> {
        let key = SigningKey::generate();
        let mut claims = TokenClaims::new("acme", "ada@example.com", &["TenantAdministrator", "TenantMember"]);
        claims.tenant_name = Some("Acme".into());
        key.authorizer_claims(&key.mint(&claims), now_epoch_seconds()).unwrap()
    }

    #[test]
    fn the_event_has_api_gateways_shape() {
        let event = event(None);
        assert_eq!(event["routeKey"], format!("PUT {}", PROCESS_INVITATION.path));
        assert_eq!(event["rawPath"], PATH);
        assert_eq!(event["rawQueryString"], "action=accept&tag=a&tag=b%20c");
        assert_eq!(event["queryStringParameters"], json!({"action": "accept", "tag": "a,b c"}));
        assert_eq!(event["headers"]["x-custom"], "one,two");
        assert_eq!(event["headers"]["x-forwarded-proto"], "http");
        assert_eq!(event["headers"]["x-forwarded-for"], "127.0.0.1");
        assert!(event["headers"].get("cookie").is_none());
        assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
        assert_eq!(event["isBase64Encoded"], true);
        assert_eq!(event["requestContext"]["time"], "04/Mar/2020:19:03:58 +0000");
        assert_eq!(event["requestContext"]["timeEpoch"], 1_583_348_638_000_i64);
        assert_eq!(event["requestContext"]["http"]["protocol"], "HTTP/1.1");
        assert!(event["requestContext"].get("authorizer").is_none());
    }

    #[test]
    fn the_event_parses_into_the_request_the_handlers_read() {
        let req = lambda_http::request::from_str(&event(Some(minted_claims())).to_string()).unwrap();
        assert_eq!(req.method(), Method::PUT);
        assert_eq!(req.uri().path(), PATH);
        assert_eq!(req.uri().host(), Some("localhost"));
        assert_eq!(req.path_parameters_ref().and_then(|p| p.first("invitationId")), PATH.rsplit('/').next());
        assert_eq!(req.query_string_parameters_ref().and_then(|q| q.all("tag")), Some(vec!["a", "b c"]));
        assert_eq!(req.headers().get(COOKIE).unwrap(), "a=1; b=2");
        assert_eq!(req.headers().get_all("x-custom").iter().count(), 1);
        assert!(matches!(req.body(), Body::Binary(b) if b == BODY));
        assert_eq!(request_id(&req), "req-1");
        assert!(matches!(req.request_context_ref(), Some(RequestContext::ApiGatewayV2(_))));
        let caller = principal(&req, &ClaimNames::default()).unwrap();
        assert_eq!(caller.user.as_str(), "ada@example.com");
        assert_eq!(caller.tenant.as_str(), "acme");
        assert_eq!(caller.email.map(|e| e.as_str().to_owned()).as_deref(), Some("ada@example.com"));
        assert_eq!(caller.tenant_name.as_deref(), Some("Acme"));
        assert_eq!(caller.roles, vec![Role::TenantAdministrator, Role::TenantMember]);
    }

    #[test]
    fn without_a_token_the_handlers_see_no_caller() {
        let req = lambda_http::request::from_str(&event(None).to_string()).unwrap();
        assert!(principal(&req, &ClaimNames::default()).is_err());
    }

    #[test]
    fn text_bodies_are_passed_as_they_are() {
        assert_eq!(encode_body(b"{\"Name\":\"x\"}"), ("{\"Name\":\"x\"}".to_owned(), false));
        assert_eq!(encode_body(&[0xff]), ("/w==".to_owned(), true));
    }
}
