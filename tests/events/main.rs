//! Every sample event in `events/` drives its own operation's handler and gets the answer it shows off.
//!
//! The events are what `sam local invoke -e events/<operation>.json` and the Lambda console's test tab send, so each
//! must parse as API Gateway's HTTP API payload 2.0 (as `lambda_http` reads it in Lambda) and must succeed against a
//! store seeded with the fixture world they are written for:
//!
//! - community `3fa85f64-…`, "Shared Operations", owned by `tenant-owner` (administrator `admin@owner.example`);
//! - `tenant-member` (`carol@member.example`, TenantMember) joined through an earlier, completed invitation;
//! - invitation `7c9e6679-…` to `bob@guest.example`, administrator of `tenant-guest`, whose emailed link carries
//!   the secret [`communities::BOB_TOKEN`] (the landing page events present it);
//! - `tenant-owner`'s settings for inviting platform users: anyone signed in may invite, for 14 days;
//! - platform invitation `3fa85f64-…` (Swagger's example id, like the community's, but another item) from the
//!   owner's administrator to `jane.mead@acmepaymentscorp.com`, whose email carries the code
//!   [`users::JANE_CODE`] (the verify and sign-up events present it).
//!
//! Each event is a moment in that world's story: before Bob and Jane are invited, while their invitations are
//! pending, or after Bob accepted his.
//!
//! The portal events (`/sharing/rest/portals/self/...`) are sent to one of two portals (deployments configured
//! with `RSVP_PORTAL_*`, each with its own signing key): the owner's, which hosts collaboration `eefa7ebb…` and
//! invites the guest's portal with invitation `4c2d9e7f…`, and the guest's (`guest-portal`), which accepts it and
//! answers with its response file. The invitation and response files in the events are the ones those portals
//! sign, byte for byte (see [`portals::PortalMoment`]).
//!
//! ## Layout
//!
//! This file holds the tests; the modules hold what they drive:
//!
//! | file | what it holds |
//! |---|---|
//! | `sample.rs` | reading the events: their instant, their files, the requests, the parts of answers and forms |
//! | `communities.rs` | the world of communities and invitations, its [`communities::Moment`]s, sending to it |
//! | `users.rs` | the platform-users part of that world: the owner's settings and administrator, Jane's invitation |
//! | `portals.rs` | the portal world: the two portals, their keys and signed files, its [`portals::PortalMoment`]s |
//! | `api_answers.rs` | what each API, public and page event must get |
//! | `portal_answers.rs` | what each portal event must get |

mod api_answers;
mod communities;
mod portal_answers;
mod portals;
mod sample;
mod users;

use std::collections::BTreeSet;

use rsvp::routes::{Kind, ROUTES};
use serde_json::Value;

use crate::sample::{NOW, event_path, repo_root};

#[tokio::test]
async fn every_sample_event_succeeds_with_its_own_handler() {
    for route in ROUTES {
        match route.kind {
            Kind::Portal | Kind::PortalPublic => portal_answers::check_portal(route).await,
            Kind::Api | Kind::Public | Kind::Page => api_answers::check(route).await,
        }
    }
}

#[test]
fn every_route_has_exactly_one_event_file_and_there_are_no_others() {
    let dir = repo_root().join("events");
    let found: BTreeSet<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let mut wanted: BTreeSet<String> =
        ROUTES.iter().map(|r| format!("{}.json", r.operation.replace('_', "-"))).collect();
    // The stream consumer's sample (a DynamoDB stream batch), driven by tests/email/.
    wanted.insert("deliver-emails.json".to_owned());
    // SES's records of a sent message as EventBridge delivers them (from AWS's documented examples, tagged as rsvp
    // tags its messages), driven by tests/published_events.rs.
    for sample in ["bounce", "complaint", "delivery"] {
        wanted.insert(format!("record-mail-fate-{sample}.json"));
    }
    // The portal routes' authorizer's samples (the three token placements and a forged token), driven by
    // tests/authorizer.rs.
    for sample in ["bearer", "esri-header", "token-parameter", "bad-token"] {
        wanted.insert(format!("portal-authorizer-{sample}.json"));
    }
    assert_eq!(found, wanted);
}

/// The event's route and path parameters are the ones API Gateway would send for this route: an event copied from
/// another operation and half edited is caught here rather than by a confusing 404 in the console.
#[test]
fn every_event_is_shaped_for_its_route() {
    for route in ROUTES {
        let path = event_path(route);
        let event: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let name = path.display();
        let route_key = format!("{} {}", route.method, route.path);
        assert_eq!(event["version"], "2.0", "{name}");
        assert_eq!(event["routeKey"], route_key.as_str(), "{name}");
        assert_eq!(event["requestContext"]["routeKey"], route_key.as_str(), "{name}");
        // An `ANY` route is sent whatever method the caller used.
        if route.method != "ANY" {
            assert_eq!(event["requestContext"]["http"]["method"], route.method, "{name}");
        }
        assert_eq!(event["requestContext"]["stage"], "$default", "{name}");
        let raw_path = event["rawPath"].as_str().unwrap();
        assert_eq!(event["requestContext"]["http"]["path"], raw_path, "{name}");
        let params = if route.path.ends_with("/{proxy+}") {
            rsvp::routes::find_greedy(raw_path).filter(|(r, _)| r.operation == route.operation).map(|(_, p)| p)
        } else {
            rsvp::routes::match_path(route.path, raw_path)
        }
        .unwrap_or_else(|| panic!("{name}: rawPath does not match"));
        let declared = event.get("pathParameters").cloned().unwrap_or(Value::Object(Default::default()));
        let expected: serde_json::Map<String, Value> = params.into_iter().map(|(k, v)| (k, Value::String(v))).collect();
        assert_eq!(declared, Value::Object(expected), "{name}: pathParameters");
        let has_body = event.get("body").is_some_and(|b| !b.is_null());
        assert_eq!(has_body, event["headers"].get("content-type").is_some(), "{name}: a body goes with a content-type");
        if !matches!(route.kind, Kind::Api | Kind::Portal) {
            // Public routes have no authorizer: API Gateway sends neither claims nor the caller's Authorization.
            assert!(event["requestContext"].get("authorizer").is_none(), "{name}: a public route has no authorizer");
            assert!(event["headers"].get("authorization").is_none(), "{name}");
        } else {
            let authorizer = &event["requestContext"]["authorizer"];
            // The API routes' claims come from the JWT authorizer, the portal routes' from their Lambda
            // authorizer's context (rsvp::authorizer), flattened to strings alike.
            let claims = if route.kind == Kind::Portal {
                assert!(authorizer.get("jwt").is_none(), "{name}: the portal routes have their own authorizer");
                &authorizer["lambda"]
            } else {
                assert!(authorizer["jwt"]["scopes"].is_null(), "{name}");
                &authorizer["jwt"]["claims"]
            };
            for claim in ["sub", "email", "tenant_id", "roles"] {
                assert!(claims[claim].is_string(), "{name}: claim {claim} (API Gateway flattens claims to strings)");
            }
            if route.kind == Kind::Portal {
                assert_eq!(claims["roles"], "[PortalAdministrator]", "{name}: the portal routes need the role");
            }
        }
        let at = event["requestContext"]["timeEpoch"].as_i64().unwrap();
        assert!(
            (NOW.millis()..NOW.plus_minutes(10).millis()).contains(&at),
            "{name}: sent at the fixture world's time"
        );
    }
}
