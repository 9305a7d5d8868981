//! Reading a request: who the caller is, path ids, paging and JSON bodies, each with a limit and a clear 400.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use lambda_http::http::header;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, RequestPayloadExt};
use serde::de::DeserializeOwned;

use super::ApiError;
use crate::app::ClaimNames;
use crate::domain::{Email, Principal, Role, TenantId, UserId};
use crate::store::{Cursor, PageRequest};

/// The largest request body accepted.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// `count` bounds from the reference API: default 100, at most 1000.
pub const DEFAULT_COUNT: u32 = 100;
pub const MAX_COUNT: u32 = 1_000;
/// `skip` reads and discards items, so it is bounded; beyond it, walk the list with `continuationToken`.
pub const MAX_SKIP: u32 = 10_000;
const MAX_TOKEN_CHARS: usize = 512;

/// The request id API Gateway assigned, which every error answer and log line carries as `OperationId`.
pub fn request_id(req: &Request) -> String {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.request_id.clone(),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// The caller, from the claims that API Gateway's JWT authorizer (`authorizer.jwt.claims`: the API routes) or the
/// portal routes' Lambda authorizer (`authorizer.lambda`: `rsvp::authorizer`, feature `authorizer`) verified, or
/// the local server in their place. Both hand on the claims flattened to strings alike. Nothing else the caller sends is trusted for
/// identity; a Lambda authorizer's context without a subject (no token, or one that did not verify) is no caller.
pub fn principal(req: &Request, names: &ClaimNames) -> Result<Principal, ApiError> {
    let authorizer = match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.authorizer.as_ref(),
        _ => None,
    };
    let jwt = authorizer.and_then(|a| a.jwt.as_ref()).map(|j| &j.claims);
    let lambda = authorizer.map(|a| &a.fields).filter(|fields| !fields.is_empty());
    let unauthenticated = || ApiError::Unauthorized("The request carries no valid bearer token.".into());
    if jwt.is_none() && lambda.is_none() {
        return Err(unauthenticated());
    }
    let claim = |name: &str| -> Option<&str> {
        let value = match (jwt, lambda) {
            (Some(claims), _) => claims.get(name).map(String::as_str),
            (None, Some(fields)) => fields.get(name).and_then(|v| v.as_str()),
            (None, None) => None,
        };
        value.filter(|v| !v.is_empty())
    };
    let user = UserId::parse("sub", claim(&names.user).ok_or_else(unauthenticated)?)
        .map_err(|_| ApiError::Unauthorized("The token's subject claim is not valid.".into()))?;
    let tenant = TenantId::parse(
        "tenant_id",
        claim(&names.tenant)
            .ok_or_else(|| ApiError::Forbidden("The token names no tenant; rsvp needs a tenant_id claim.".into()))?,
    )
    .map_err(|_| ApiError::Forbidden("The token's tenant claim is not a valid tenant identifier.".into()))?;
    // Fail closed: only an explicit true says the provider checked the address.
    let verified = names.email_always_verified || claim(&names.email_verified) == Some("true");
    let email = claim(&names.email).filter(|_| verified).and_then(|e| Email::parse(e).ok());
    let roles = claim(&names.roles).map(parse_roles).unwrap_or_default();
    // A name the owner will be shown: one line of plain text, or none (a claim that is not is not shown at all).
    let tenant_name = claim(&names.tenant_name)
        .map(|n| n.chars().take(200).collect::<String>())
        .and_then(|n| crate::domain::one_line_text("tenant_name", &n, 200).ok());
    Ok(Principal { user, tenant, email, tenant_name, roles })
}

/// Roles as API Gateway flattens an array claim (`"[a b]"`), or as a plain, comma- or space-separated string,
/// or a JSON array.
fn parse_roles(value: &str) -> Vec<Role> {
    value
        .trim_matches(|c| c == '[' || c == ']')
        .split(|c: char| c == ',' || c.is_whitespace())
        .map(|r| r.trim_matches('"'))
        .filter_map(Role::parse)
        .collect()
}

/// A required path parameter, parsed by `parse` (which names the parameter in its error).
pub fn path<T, E>(
    req: &Request,
    name: &'static str,
    parse: impl FnOnce(&'static str, &str) -> Result<T, E>,
) -> Result<T, ApiError>
where
    ApiError: From<E>,
{
    let params = req.path_parameters_ref();
    let value =
        params.and_then(|p| p.first(name)).ok_or_else(|| ApiError::bad_request(format!("The path has no {name}.")))?;
    Ok(parse(name, value)?)
}

/// `skip`, `count` and `continuationToken` from the query string.
pub fn paging(req: &Request) -> Result<PageRequest, ApiError> {
    let query = req.query_string_parameters_ref();
    let get = |name: &str| query.and_then(|q| q.first(name));
    let number =
        |name: &str, default: u32, min: u32, max: u32| -> Result<u32, ApiError> {
            match get(name) {
                None => Ok(default),
                Some(v) => v.parse::<u32>().ok().filter(|n| (min..=max).contains(n)).ok_or_else(|| {
                    ApiError::bad_request(format!("{name} must be a whole number from {min} to {max}."))
                }),
            }
        };
    let skip = number("skip", 0, 0, MAX_SKIP)?;
    let count = number("count", DEFAULT_COUNT, 1, MAX_COUNT)?;
    let after = get("continuationToken").map(decode_cursor).transpose()?;
    Ok(PageRequest { skip, count, after })
}

/// The opaque form of a cursor: base64url of its JSON. It names a position, never grants access: stores only
/// use it inside the partition the caller may read.
pub fn encode_cursor(cursor: &Cursor) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).unwrap_or_default())
}

fn decode_cursor(token: &str) -> Result<Cursor, ApiError> {
    let invalid =
        || ApiError::bad_request("continuationToken is not valid; start again from the first page without it.");
    if token.len() > MAX_TOKEN_CHARS {
        return Err(invalid());
    }
    let bytes = URL_SAFE_NO_PAD.decode(token).map_err(|_| invalid())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid())
}

/// The URL of the next page: this path with the same `count` and the next cursor.
///
/// It keeps the request's `filters` (the parameters the list reads: `State=Accepted` must hold on every page), in
/// their order, and replaces `skip`, `count` and `continuationToken` (the cursor already counts what was skipped).
/// Anything else the caller sent is not echoed back: the link is ours, not a mirror of the caller's input.
pub fn next_page_url(req: &Request, page: &PageRequest, next: Option<&Cursor>, filters: &[&str]) -> Option<String> {
    let cursor = next?;
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    let sent = url::form_urlencoded::parse(req.uri().query().unwrap_or_default().as_bytes());
    for (name, value) in sent.filter(|(name, _)| filters.contains(&name.as_ref())) {
        query.append_pair(&name, &value);
    }
    query.append_pair("count", &page.count.to_string()).append_pair("continuationToken", &encode_cursor(cursor));
    Some(format!("{}?{}", req.uri().path(), query.finish()))
}

/// A JSON body of type `T`: `Content-Type: application/json`, at most [`MAX_BODY_BYTES`], well-formed.
pub fn json_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ApiError::bad_request("The body must be JSON, sent with Content-Type: application/json."));
    }
    let bytes = body_bytes(req);
    if bytes.len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!("The body is larger than {} KiB.", MAX_BODY_BYTES / 1024)));
    }
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("The request needs a JSON body."));
    }
    serde_json::from_slice(bytes)
        .map_err(|e| ApiError::bad_request(format!("The body is not valid JSON for this request: {e}.")))
}

/// The body's bytes as sent (empty when there is none).
pub fn body_bytes(req: &Request) -> &[u8] {
    match req.body() {
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

/// A form body of type `T`: `Content-Type: application/x-www-form-urlencoded`, at most [`MAX_BODY_BYTES`],
/// well-formed (a repeated field is refused rather than one of its values picked).
pub fn form_body<T: DeserializeOwned>(req: &Request) -> Result<T, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return Err(ApiError::bad_request("The form must be sent as application/x-www-form-urlencoded."));
    }
    if req.body().len() > MAX_BODY_BYTES {
        return Err(ApiError::bad_request(format!("The body is larger than {} KiB.", MAX_BODY_BYTES / 1024)));
    }
    req.form_url_encoded::<T>()
        .map_err(|_| ApiError::bad_request("The form is not valid."))?
        .ok_or_else(|| ApiError::bad_request("The request needs a form body."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A request as API Gateway's JWT authorizer hands it on, with `claims`.
    fn with_claims(claims: serde_json::Value) -> Request {
        lambda_http::request::from_str(&event_with(claims).to_string()).unwrap()
    }

    fn event_with(claims: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "version": "2.0", "routeKey": "GET /x", "rawPath": "/x", "rawQueryString": "", "headers": {},
            "requestContext": { "http": { "method": "GET", "path": "/x", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1",
                "userAgent": "t" }, "requestId": "r", "routeKey": "GET /x", "stage": "$default", "timeEpoch": 0,
                "authorizer": { "jwt": { "claims": claims, "scopes": null } } },
            "isBase64Encoded": false
        })
    }

    #[test]
    fn an_address_counts_only_when_the_provider_says_it_verified_it() {
        let names = ClaimNames::default();
        let email_of = |verified: Option<&str>, names: &ClaimNames| {
            let mut claims = serde_json::json!({ "sub": "u1", "tenant_id": "acme", "email": "ada@acme.example" });
            if let Some(verified) = verified {
                claims["email_verified"] = verified.into();
            }
            principal(&with_claims(claims), names).unwrap().email.map(|e| e.as_str().to_owned())
        };
        assert_eq!(email_of(Some("true"), &names).as_deref(), Some("ada@acme.example"));
        for unverified in [None, Some("false"), Some("False"), Some("0"), Some("no"), Some("TRUE "), Some("")] {
            assert_eq!(email_of(unverified, &names), None, "email_verified {unverified:?} fails closed");
        }
        let trusting = ClaimNames { email_always_verified: true, ..ClaimNames::default() };
        assert_eq!(email_of(None, &trusting).as_deref(), Some("ada@acme.example"), "a provider of verified addresses");
        let renamed = ClaimNames { email_verified: "https://example.com/verified".into(), ..ClaimNames::default() };
        assert_eq!(email_of(Some("true"), &renamed), None, "the configured claim, not another");
    }

    #[test]
    fn a_tenant_name_claim_is_one_line_of_plain_text_or_none() {
        let name_of = |name: &str| {
            let claims = serde_json::json!({ "sub": "u1", "tenant_id": "acme", "tenant_name": name });
            principal(&with_claims(claims), &ClaimNames::default()).unwrap().tenant_name
        };
        assert_eq!(name_of(" Acme Corp ").as_deref(), Some("Acme Corp"));
        for bad in ["t2 Guest Corp\r\nBcc: x@y", "Acme\u{202E}proC", "Ac\u{200B}me", "Acme\tCorp"] {
            assert_eq!(name_of(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn roles_are_read_in_every_flattened_form() {
        let both = vec![Role::TenantAdministrator, Role::TenantMember];
        assert_eq!(parse_roles("[TenantAdministrator TenantMember]"), both);
        assert_eq!(parse_roles("TenantAdministrator,TenantMember"), both);
        assert_eq!(parse_roles("[\"TenantAdministrator\",\"TenantMember\"]"), both);
        assert_eq!(parse_roles("TenantMember"), vec![Role::TenantMember]);
        assert_eq!(parse_roles("[Root]"), vec![]);
    }

    #[test]
    fn the_next_page_keeps_the_filters_and_replaces_the_paging() {
        let mut event = event_with(serde_json::json!({}));
        event["rawQueryString"] = "State=Accepted&skip=5&count=2&continuationToken=old&Q=a+b%26c&nun=%3E".into();
        let req = lambda_http::request::from_str(&event.to_string()).unwrap();
        let page = PageRequest { skip: 5, count: 2, after: None };
        let cursor = Cursor { sort: "000001700000000000#abc".into() };
        let url = next_page_url(&req, &page, Some(&cursor), &["State", "Q"]).unwrap();
        assert_eq!(url, format!("/x?State=Accepted&Q=a+b%26c&count=2&continuationToken={}", encode_cursor(&cursor)));
        let unfiltered = next_page_url(&req, &page, Some(&cursor), &[]).unwrap();
        assert_eq!(
            unfiltered,
            format!("/x?count=2&continuationToken={}", encode_cursor(&cursor)),
            "nothing else echoed"
        );
        assert_eq!(next_page_url(&req, &page, None, &["State"]), None, "the last page has none");
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let cursor = Cursor { sort: "000001700000000000#abc".into() };
        assert_eq!(decode_cursor(&encode_cursor(&cursor)).unwrap(), cursor);
        assert!(decode_cursor("!!").is_err());
        assert!(decode_cursor(&"A".repeat(600)).is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode(b"{\"x\":1}")).is_err());
    }
}
