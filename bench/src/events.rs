//! API Gateway HTTP API (payload 2.0) events, as API Gateway hands them to a function after its JWT authorizer.

use rsvp::routes::Route;
use serde_json::{Map, Value, json};

/// Who calls: the claims API Gateway's JWT authorizer passes on.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: &'static str,
    pub email: &'static str,
}

pub const OWNER: Caller = Caller { tenant: "tenant-owner", email: "admin@owner.example" };
pub const GUEST: Caller = Caller { tenant: "tenant-guest", email: "bob@guest.example" };

/// `route` with its `{name}` parameters filled from `params`, the query `query`, a JSON `body` and `caller` as a
/// TenantAdministrator.
pub fn event(
    route: &Route,
    params: &[(&str, &str)],
    query: &[(&str, &str)],
    body: Option<&Value>,
    caller: &Caller,
) -> Value {
    let mut path = route.path.to_owned();
    for (name, value) in params {
        path = path.replace(&format!("{{{name}}}"), value);
    }
    let route_key = format!("{} {}", route.method, route.path);
    let raw_query = query.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    let to_map = |pairs: &[(&str, &str)]| -> Value {
        if pairs.is_empty() {
            Value::Null
        } else {
            Value::Object(pairs.iter().map(|(k, v)| ((*k).to_owned(), json!(v))).collect::<Map<_, _>>())
        }
    };
    let domain = "bench.execute-api.us-east-1.amazonaws.com";
    let mut headers = json!({
        "accept": "application/json",
        "host": domain,
        "x-forwarded-proto": "https",
    });
    if body.is_some() {
        headers["content-type"] = json!("application/json");
    }
    json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": headers,
        "queryStringParameters": to_map(query),
        "pathParameters": to_map(params),
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "bench",
            "authorizer": { "jwt": { "claims": {
                "sub": format!("user-{}", caller.email),
                "email": caller.email,
                "email_verified": "true",
                "tenant_id": caller.tenant,
                "tenant_name": format!("{} Corp", caller.tenant),
                "roles": "[TenantAdministrator]",
            }, "scopes": null } },
            "domainName": domain,
            "domainPrefix": "bench",
            "http": { "method": route.method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "198.51.100.23",
                      "userAgent": "rsvp-bench" },
            "requestId": uuid::Uuid::new_v4().to_string(),
            "routeKey": route_key,
            "stage": "$default",
            "time": "01/Jan/2026:00:00:00 +0000",
            "timeEpoch": 1_767_225_600_000u64,
        },
        "body": body.map(Value::to_string),
        "isBase64Encoded": false,
    })
}

/// The status code and the parsed JSON body of a function's answer (the API Gateway 2.0 response object).
pub fn answer(response: &[u8]) -> Result<(u16, Value), String> {
    let value: Value = serde_json::from_slice(response).map_err(|e| format!("answer is not JSON: {e}"))?;
    let status = value["statusCode"].as_u64().ok_or("answer has no statusCode")? as u16;
    let body = match value["body"].as_str() {
        Some("") | None => Value::Null,
        Some(text) => serde_json::from_str(text).map_err(|e| format!("answer body is not JSON: {e}"))?,
    };
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_fill_the_path_and_the_claims_name_the_caller() {
        let e = event(
            &rsvp::routes::GET_COMMUNITY_INVITATION,
            &[("communityId", "c1"), ("invitationId", "i1")],
            &[],
            None,
            &OWNER,
        );
        assert_eq!(e["rawPath"], "/api/v1-preview/communities/c1/invitations/i1");
        assert_eq!(e["pathParameters"]["invitationId"], "i1");
        assert_eq!(e["requestContext"]["authorizer"]["jwt"]["claims"]["tenant_id"], "tenant-owner");
        let req = lambda_http::request::from_str(&e.to_string()).expect("lambda_http reads the event");
        assert_eq!(req.uri().path(), "/api/v1-preview/communities/c1/invitations/i1");
    }

    #[test]
    fn query_and_body() {
        let body = json!({"InvitationRecipient": "x@y.example"});
        let e = event(
            &rsvp::routes::LIST_COMMUNITY_INVITATIONS,
            &[("communityId", "c")],
            &[("count", "20")],
            Some(&body),
            &GUEST,
        );
        assert_eq!(e["rawQueryString"], "count=20");
        assert_eq!(e["body"], "{\"InvitationRecipient\":\"x@y.example\"}");
    }

    #[test]
    fn answers_are_read() {
        let (status, body) = answer(br#"{"statusCode":201,"headers":{},"body":"{\"Id\":\"x\"}"}"#).unwrap();
        assert_eq!((status, body["Id"].as_str()), (201, Some("x")));
        assert_eq!(answer(br#"{"statusCode":204,"body":""}"#).unwrap(), (204, Value::Null));
        assert!(answer(b"nope").is_err());
    }
}
