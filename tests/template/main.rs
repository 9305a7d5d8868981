//! `template.yaml` cannot drift from the code: one function per route (named after its operation, built from its own
//! crate, served at exactly the route's method and path), DynamoDB and KMS permissions no wider than each
//! operation's code path, the table as `DynamoStore` uses it, the keys, and the environment `Config::from_env` and
//! `rsvp::lambda` read.
//!
//! The template is read as CloudFormation reads it: short tags (`!Ref X`, `!GetAtt A.b`, `!Sub ...`) become their
//! long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "b"]}`, ...), so a test can tell a reference from a literal.
//!
//! ## Layout
//!
//! This file holds what every test reads (the template, its resources, the function of each operation); the
//! modules hold the tests, by topic:
//!
//! | file | its tests |
//! |---|---|
//! | `cfn.rs` | the YAML loader that expands CloudFormation's short tags |
//! | `routes.rs` | one function per route, the public routes, the JWT and portal authorizers, throttling |
//! | `functions.rs` | each function's crate in the one bundle, its runtime and the environment the code reads |
//! | `security.rs` | each function's IAM permissions (against what its operation needs), the portal's KMS key, CORS |
//! | `table.rs` | the table as `DynamoStore` uses it, and what deleting the stack keeps |
//! | `streams.rs` | the stream consumers, SES's mail fates, the webhook and the outbox sweep |
//! | `monitoring.rs` | log groups, tracing, the access log, the alarms and the dashboard |
//! | `parameters.rs` | the parameters and their defaults, the custom domain, the tags |

mod cfn;
mod functions;
mod monitoring;
mod parameters;
mod routes;
mod security;
mod streams;
mod table;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::cfn::load_cfn_yaml;

pub(crate) fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

pub(crate) fn template() -> Value {
    let path = repo_root().join("template.yaml");
    load_cfn_yaml(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

pub(crate) fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

/// Logical ids and properties of every resource of `kind`.
pub(crate) fn of_type<'a>(t: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    resources(t).iter().filter(|(_, r)| r["Type"] == kind).map(|(id, r)| (id.as_str(), r)).collect()
}

/// `create_community_invitation` → `CreateCommunityInvitationFunction`.
pub(crate) fn function_id(operation: &str) -> String {
    let pascal: String = operation
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    format!("{pascal}Function")
}

pub(crate) fn crate_name(operation: &str) -> String {
    operation.replace('_', "-")
}

/// The portal routes' Lambda authorizer, which API Gateway calls before each portal route's function.
pub(crate) const AUTHORIZER_FUNCTION: (&str, &str) = ("PortalAuthorizerFunction", "portal-authorizer");
/// Functions that serve no route: (logical id, crate). The email sender and the events publisher are fed by the
/// table's stream, the sweep by a schedule, the authorizer by API Gateway.
pub(crate) const STREAM_FUNCTIONS: &[(&str, &str)] = &[
    ("DeliverEmailsFunction", "deliver-emails"),
    ("PublishEventsFunction", "publish-events"),
    ("RecordMailFateFunction", "record-mail-fate"),
    ("SweepDeliveriesFunction", "sweep-deliveries"),
    AUTHORIZER_FUNCTION,
];

pub(crate) fn is_stream_function(id: &str) -> bool {
    STREAM_FUNCTIONS.iter().any(|(f, _)| *f == id)
}

pub(crate) fn reference(name: &str) -> Value {
    json!({ "Ref": name })
}

#[test]
fn function_ids_are_the_operations_in_pascal_case() {
    assert_eq!(function_id("create_community_invitation"), "CreateCommunityInvitationFunction");
    assert_eq!(function_id("get_community"), "GetCommunityFunction");
}
