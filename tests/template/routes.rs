//! The API's routes: each served by exactly its own function, the few that are public, the JWT every other API
//! request carries, the portal routes' own authorizer, and the throttling of every route.

use std::collections::BTreeSet;

use rsvp::routes::{Kind, ROUTES};
use serde_json::json;

use crate::{AUTHORIZER_FUNCTION, function_id, is_stream_function, of_type, reference, resources, template};

#[test]
fn every_route_is_served_by_exactly_its_own_function() {
    let t = template();
    assert_eq!(t["Transform"], "AWS::Serverless-2016-10-31");
    let mut declared = BTreeSet::new();
    for (id, function) in of_type(&t, "AWS::Serverless::Function") {
        if is_stream_function(id) {
            continue;
        }
        let events = function["Properties"]["Events"].as_object().unwrap_or_else(|| panic!("{id} has no Events"));
        let route = ROUTES.iter().find(|r| function_id(r.operation) == id);
        assert_eq!(
            events.len(),
            route.map_or(1, |r| r.route_keys().len()),
            "{id}: one event per route key of its one route"
        );
        for event in events.values() {
            assert_eq!(event["Type"], "HttpApi", "{id}");
            let p = &event["Properties"];
            assert_eq!(p["ApiId"], reference("HttpApi"), "{id}: served by the API that carries the JWT authorizer");
            // The handlers read API Gateway's payload 2.0 (tests/events/); 1.0 would not parse the same.
            assert_eq!(p["PayloadFormatVersion"], "2.0", "{id}");
            // The API keeps the default JWT authorizer; the portal routes name the Lambda authorizer that reads
            // Esri's token placements (it passes a caller without a valid token on, so the public portal routes
            // use it too: they name a caller who has one); only the other public routes (the pages, the
            // invitation code holder's) opt out, and only by naming none.
            match route.map(|r| r.kind) {
                Some(Kind::Page | Kind::Public) => {
                    assert_eq!(p["Auth"], json!({ "Authorizer": "NONE" }), "{id}: a public route")
                }
                Some(Kind::Portal | Kind::PortalPublic) => {
                    assert_eq!(p["Auth"], json!({ "Authorizer": "PortalToken" }), "{id}: a portal route")
                }
                _ => assert!(p.get("Auth").is_none(), "{id}: routes keep the default authorizer"),
            }
            let method = p["Method"].as_str().unwrap().to_ascii_uppercase();
            declared.insert((method, p["Path"].as_str().unwrap().to_owned(), id.to_owned()));
        }
    }
    let wanted: BTreeSet<_> = ROUTES
        .iter()
        .flat_map(|r| r.route_keys().into_iter().map(|(m, p)| (m.to_owned(), p.to_owned(), function_id(r.operation))))
        .collect();
    assert_eq!(declared, wanted);
}

/// The invitation landing page's two routes, the two routes of a platform invitation's code holder (who has no
/// account yet) and the portal's own description (its public key, which other portals read) are the only ones any
/// caller can reach without a token.
#[test]
fn only_the_invitation_pages_the_code_holders_routes_and_the_portal_description_are_public() {
    let t = template();
    let mut public = BTreeSet::new();
    for (id, function) in of_type(&t, "AWS::Serverless::Function") {
        for event in function["Properties"]["Events"].as_object().into_iter().flat_map(|e| e.values()) {
            let p = &event["Properties"];
            let kind = ROUTES.iter().find(|r| function_id(r.operation) == *id).map(|r| r.kind);
            // The portal authorizer passes callers without a token on: its public routes are reachable so.
            let through_portal_authorizer =
                kind == Some(Kind::PortalPublic) && p["Auth"]["Authorizer"] == "PortalToken";
            if p.get("Auth").is_some_and(|auth| auth["Authorizer"] != "PortalToken") || through_portal_authorizer {
                if !through_portal_authorizer {
                    assert_eq!(p["Auth"], json!({ "Authorizer": "NONE" }), "{id}: no other authorizer exists");
                }
                public.insert(format!("{} {} {id}", p["Method"].as_str().unwrap(), p["Path"].as_str().unwrap()));
            }
        }
    }
    let expected = BTreeSet::from([
        "GET /invite/{invitationId} ShowInvitationPageFunction".to_owned(),
        "POST /invite/{invitationId} RespondToInvitationPageFunction".to_owned(),
        "POST /api/users/verifyInvitation VerifyInvitationFunction".to_owned(),
        "POST /api/users/signupUser/{invitationCode} AcceptUserInvitationFunction".to_owned(),
        "GET /sharing/rest/portals/{portalId} GetPortalSelfFunction".to_owned(),
        "POST /sharing/rest/portals/{portalId} GetPortalSelfFunction".to_owned(),
        // What ArcGIS clients read before they sign in, and the dialect's error for every path no route serves.
        "GET /sharing/rest GetPortalRootFunction".to_owned(),
        "POST /sharing/rest GetPortalRootFunction".to_owned(),
        "GET /sharing/rest/info GetPortalInfoFunction".to_owned(),
        "POST /sharing/rest/info GetPortalInfoFunction".to_owned(),
        "ANY /sharing/rest/{proxy+} PortalNotFoundFunction".to_owned(),
    ]);
    assert_eq!(public, expected);
    let unauthorised: BTreeSet<_> = ROUTES
        .iter()
        .filter(|r| !matches!(r.kind, Kind::Api | Kind::Portal))
        .flat_map(|r| r.route_keys().into_iter().map(|(m, p)| format!("{m} {p} {}", function_id(r.operation))))
        .collect();
    assert_eq!(
        unauthorised, expected,
        "the route table's public routes (pages, code holders' and the portal's description) are the template's"
    );
}

#[test]
fn the_api_verifies_a_jwt_on_every_request() {
    let t = template();
    let apis = of_type(&t, "AWS::Serverless::HttpApi");
    assert_eq!(apis.keys().copied().collect::<Vec<_>>(), ["HttpApi"]);
    let auth = &apis["HttpApi"]["Properties"]["Auth"];
    let default = auth["DefaultAuthorizer"].as_str().expect("a default authorizer");
    let authorizer = &auth["Authorizers"][default];
    assert_eq!(authorizer["IdentitySource"], "$request.header.Authorization");
    assert_eq!(authorizer["JwtConfiguration"]["issuer"], reference("JwtIssuer"));
    assert_eq!(authorizer["JwtConfiguration"]["audience"], reference("JwtAudience"));
    assert_eq!(t["Parameters"]["JwtAudience"]["Type"], "CommaDelimitedList");
}

/// Every route is throttled, the public ones (whose credential is a secret in the request: only throttling slows
/// a guesser) more strictly, and each public function may be given reserved concurrency, all as parameters.
#[test]
fn every_route_is_throttled_and_the_public_ones_more_strictly() {
    let t = template();
    let api = &of_type(&t, "AWS::Serverless::HttpApi")["HttpApi"]["Properties"];
    assert_eq!(api["DefaultRouteSettings"]["ThrottlingRateLimit"], reference("ApiThrottleRate"));
    assert_eq!(api["DefaultRouteSettings"]["ThrottlingBurstLimit"], reference("ApiThrottleBurst"));
    let settings = api["RouteSettings"].as_object().expect("RouteSettings");
    let public: BTreeSet<String> = ROUTES
        .iter()
        .filter(|r| !matches!(r.kind, Kind::Api | Kind::Portal))
        .flat_map(|r| r.route_keys().into_iter().map(|(m, p)| format!("{m} {p}")))
        .collect();
    assert_eq!(settings.keys().cloned().collect::<BTreeSet<_>>(), public, "exactly the public route keys");
    for (key, limits) in settings {
        assert_eq!(limits["ThrottlingRateLimit"], reference("PublicThrottleRate"), "{key}");
        assert_eq!(limits["ThrottlingBurstLimit"], reference("PublicThrottleBurst"), "{key}");
    }
    let parameters = &t["Parameters"];
    let default = |name: &str| parameters[name]["Default"].as_i64().unwrap_or_else(|| panic!("{name} default"));
    assert!(default("PublicThrottleRate") < default("ApiThrottleRate"));
    assert!(default("PublicThrottleBurst") < default("ApiThrottleBurst"));
    let reserved = json!({ "Fn::If": ["ReservesPublicConcurrency", reference("PublicReservedConcurrency"), reference("AWS::NoValue")] });
    for route in ROUTES.iter().filter(|r| !matches!(r.kind, Kind::Api | Kind::Portal)) {
        let id = function_id(route.operation);
        assert_eq!(resources(&t)[&id]["Properties"]["ReservedConcurrentExecutions"], reserved, "{id}");
    }
    assert_eq!(
        default("PublicReservedConcurrency"),
        0,
        "none reserved unless asked: small accounts have none to spare"
    );
}

/// The portal routes' authorizer verifies tokens from the same issuer for the same audiences, may do nothing but
/// log, and is called for every request (API Gateway cannot cache it: see shared/src/authorizer.rs).
#[test]
fn the_portal_routes_verify_the_same_jwt_with_their_own_authorizer() {
    let t = template();
    let authorizer =
        &of_type(&t, "AWS::Serverless::HttpApi")["HttpApi"]["Properties"]["Auth"]["Authorizers"]["PortalToken"];
    assert_eq!(authorizer["FunctionArn"], json!({ "Fn::GetAtt": [AUTHORIZER_FUNCTION.0, "Arn"] }));
    assert_eq!(authorizer["AuthorizerPayloadFormatVersion"], "2.0", "the event rsvp::authorizer parses");
    assert_eq!(authorizer["EnableSimpleResponses"], true, "rsvp::authorizer answers isAuthorized and a context");
    assert_eq!(authorizer["EnableFunctionDefaultPermissions"], true, "API Gateway may invoke it");
    assert!(authorizer.get("Identity").is_none(), "no identity source: a request without one would be refused unread");
    let function = &resources(&t)[AUTHORIZER_FUNCTION.0]["Properties"];
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(env["RSVP_JWT_ISSUER"], reference("JwtIssuer"));
    assert_eq!(env["RSVP_JWT_AUDIENCE"], json!({ "Fn::Join": [",", reference("JwtAudience")] }));
    assert_eq!(function["Policies"], json!([]), "it reads nothing of the deployment's");
    let portal_routes = ROUTES.iter().filter(|r| r.kind == Kind::Portal).count();
    assert!(portal_routes > 10, "the portal routes are behind it ({portal_routes})");
}
