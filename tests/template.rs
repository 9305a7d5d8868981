//! `template.yaml` cannot drift from the code: one function per route (named after its operation, built from its own
//! crate, served at exactly the route's method and path), DynamoDB and KMS permissions no wider than each
//! operation's code path, the table as `DynamoStore` uses it, the keys, and the environment `Config::from_env` and
//! `rsvp::lambda` read.
//!
//! The template is read as CloudFormation reads it: short tags (`!Ref X`, `!GetAtt A.b`, `!Sub ...`) become their
//! long forms (`{"Ref": "X"}`, `{"Fn::GetAtt": ["A", "b"]}`, ...), so a test can tell a reference from a literal.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rsvp::app::{ClaimNames, Config};
use rsvp::routes::{Kind, ROUTES};
use rsvp::store::dynamodb::Retention;
use serde_json::{Map, Value, json};
use yaml_rust2::Event;
use yaml_rust2::parser::{EventReceiver, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds a JSON value from YAML parser events, expanding CloudFormation's short-form tags.
#[derive(Default)]
struct CfnLoader {
    /// Open collections: an array, or an object with the key waiting for its value.
    stack: Vec<(Value, Option<String>, Option<Tag>)>,
    done: Option<Value>,
    error: Option<String>,
}

impl CfnLoader {
    fn push(&mut self, value: Value) {
        match self.stack.last_mut() {
            None => self.done = Some(value),
            Some((Value::Array(items), _, _)) => items.push(value),
            Some((Value::Object(map), key, _)) => match key.take() {
                None => match value {
                    Value::String(k) => *key = Some(k),
                    other => *key = Some(other.to_string()),
                },
                Some(k) => {
                    if map.insert(k.clone(), value).is_some() {
                        self.error.get_or_insert(format!("duplicate key {k}"));
                    }
                }
            },
            Some(_) => unreachable!("only collections are stacked"),
        }
    }

    /// `!Name value` as CloudFormation expands it: `Ref` and `Condition` keep their names, the rest are `Fn::Name`,
    /// and `!GetAtt Resource.Attribute` splits at the first dot.
    fn expand(&mut self, tag: Option<Tag>, value: Value) -> Value {
        let Some(tag) = tag else { return value };
        if tag.handle != "!" {
            self.error.get_or_insert(format!("unexpected tag {}{}", tag.handle, tag.suffix));
            return value;
        }
        let value = match (tag.suffix.as_str(), value) {
            ("GetAtt", Value::String(s)) => match s.split_once('.') {
                Some((resource, attribute)) => json!([resource, attribute]),
                None => Value::String(s),
            },
            (_, value) => value,
        };
        let name = match tag.suffix.as_str() {
            "Ref" | "Condition" => tag.suffix.clone(),
            other => format!("Fn::{other}"),
        };
        json!({ name: value })
    }
}

impl EventReceiver for CfnLoader {
    fn on_event(&mut self, event: Event) {
        match event {
            Event::Scalar(text, style, _, tag) => {
                let value = if tag.is_some() || style != TScalarStyle::Plain {
                    Value::String(text)
                } else {
                    plain_scalar(&text)
                };
                let value = self.expand(tag, value);
                self.push(value);
            }
            Event::SequenceStart(_, tag) => self.stack.push((Value::Array(Vec::new()), None, tag)),
            Event::MappingStart(_, tag) => self.stack.push((Value::Object(Map::new()), None, tag)),
            Event::SequenceEnd | Event::MappingEnd => {
                let (value, _, tag) = self.stack.pop().expect("balanced collections");
                let value = self.expand(tag, value);
                self.push(value);
            }
            Event::Alias(_) => {
                self.error.get_or_insert("aliases are not used in template.yaml".into());
            }
            _ => {}
        }
    }
}

/// A plain (unquoted) scalar as YAML's core schema reads it.
fn plain_scalar(text: &str) -> Value {
    match yaml_rust2::Yaml::from_str(text) {
        yaml_rust2::Yaml::Integer(i) => json!(i),
        yaml_rust2::Yaml::Real(r) => r.parse::<f64>().map_or_else(|_| json!(text), |f| json!(f)),
        yaml_rust2::Yaml::Boolean(b) => json!(b),
        yaml_rust2::Yaml::Null => Value::Null,
        _ => json!(text),
    }
}

fn load_cfn_yaml(text: &str) -> Value {
    let mut loader = CfnLoader::default();
    Parser::new_from_str(text).load(&mut loader, false).expect("template.yaml is valid YAML");
    if let Some(error) = loader.error {
        panic!("template.yaml: {error}");
    }
    loader.done.expect("template.yaml holds a document")
}

fn template() -> Value {
    let path = repo_root().join("template.yaml");
    load_cfn_yaml(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

fn resources(t: &Value) -> &Map<String, Value> {
    t["Resources"].as_object().expect("Resources")
}

/// Logical ids and properties of every resource of `kind`.
fn of_type<'a>(t: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    resources(t).iter().filter(|(_, r)| r["Type"] == kind).map(|(id, r)| (id.as_str(), r)).collect()
}

/// `create_community_invitation` → `CreateCommunityInvitationFunction`.
fn function_id(operation: &str) -> String {
    let pascal: String = operation
        .split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars.next().map(|c| c.to_ascii_uppercase().to_string() + chars.as_str()).unwrap_or_default()
        })
        .collect();
    format!("{pascal}Function")
}

fn crate_name(operation: &str) -> String {
    operation.replace('_', "-")
}

/// Functions that serve no route: (logical id, crate). The email sender and the events publisher are fed by the
/// table's stream, the sweep by a schedule, the authorizer by API Gateway.
/// The portal routes' Lambda authorizer, which API Gateway calls before each portal route's function.
const AUTHORIZER_FUNCTION: (&str, &str) = ("PortalAuthorizerFunction", "portal-authorizer");
const STREAM_FUNCTIONS: &[(&str, &str)] = &[
    ("DeliverEmailsFunction", "deliver-emails"),
    ("PublishEventsFunction", "publish-events"),
    ("RecordMailFateFunction", "record-mail-fate"),
    ("SweepDeliveriesFunction", "sweep-deliveries"),
    AUTHORIZER_FUNCTION,
];

fn is_stream_function(id: &str) -> bool {
    STREAM_FUNCTIONS.iter().any(|(f, _)| *f == id)
}

fn reference(name: &str) -> Value {
    json!({ "Ref": name })
}

#[test]
fn function_ids_are_the_operations_in_pascal_case() {
    assert_eq!(function_id("create_community_invitation"), "CreateCommunityInvitationFunction");
    assert_eq!(function_id("get_community"), "GetCommunityFunction");
}

#[test]
fn short_tags_read_as_their_long_forms() {
    let doc = load_cfn_yaml(
        "a: !Ref Table\nb: !GetAtt Table.StreamArn\nc: !Sub ${Table.Arn}/index/GSI1\nd: [1, true, '1']\n",
    );
    assert_eq!(doc["a"], json!({ "Ref": "Table" }));
    assert_eq!(doc["b"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
    assert_eq!(doc["c"], json!({ "Fn::Sub": "${Table.Arn}/index/GSI1" }));
    assert_eq!(doc["d"], json!([1, true, "1"]));
}

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
            // The handlers read API Gateway's payload 2.0 (tests/events.rs); 1.0 would not parse the same.
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

/// Every function runs the one bundle binary (`scripts/build`, `shared/src/bin/bundle.rs`) from its folder, and its
/// Handler names its own crate under `functions/`, which the bundle runs (`rsvp::lambda::run_function`): an
/// operation's crate runs its route, the others are exactly `rsvp::lambda::FUNCTIONS_WITHOUT_ROUTES`.
#[test]
fn every_function_runs_its_own_crate_from_the_one_bundle_and_every_crate_is_deployed() {
    let t = template();
    let mut binaries = Vec::new();
    let functions = ROUTES
        .iter()
        .map(|r| (function_id(r.operation), crate_name(r.operation)))
        .chain(STREAM_FUNCTIONS.iter().map(|(id, krate)| ((*id).to_owned(), (*krate).to_owned())));
    for (id, krate) in functions {
        let function = &resources(&t)[&id];
        assert!(function.get("Metadata").is_none(), "{id}: built by scripts/build, not by `sam build`");
        let binary = function["Properties"]["Handler"].as_str().unwrap_or_else(|| panic!("{id}: Handler"));
        assert_eq!(binary, krate, "{id}");
        assert_eq!(function["Properties"]["CodeUri"], "target/lambda/bundle/", "{id}");
        let manifest = repo_root().join("functions").join(binary).join("Cargo.toml");
        let manifest = std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
        assert!(
            manifest.lines().any(|l| l.trim() == format!("name = \"{binary}\"")),
            "functions/{binary} is the crate {binary}"
        );
        binaries.push(binary.to_owned());
    }
    assert_eq!(
        of_type(&t, "AWS::Serverless::Function").len(),
        ROUTES.len() + STREAM_FUNCTIONS.len(),
        "no function without a route, but the stream consumers"
    );
    let mut crates: Vec<String> = std::fs::read_dir(repo_root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_dir())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    crates.sort();
    binaries.sort();
    assert_eq!(binaries, crates, "each crate under functions/ is deployed by exactly one function");
    let mut without_routes: Vec<&str> = STREAM_FUNCTIONS.iter().map(|(_, krate)| *krate).collect();
    let mut runs: Vec<&str> = rsvp::lambda::FUNCTIONS_WITHOUT_ROUTES.to_vec();
    without_routes.sort_unstable();
    runs.sort_unstable();
    assert_eq!(without_routes, runs, "the bundle runs exactly the template's functions without a route");
    let manifest = std::fs::read_to_string(repo_root().join("shared").join("Cargo.toml")).expect("shared's manifest");
    assert!(manifest.contains("name = \"bundle\""), "the bundle binary is the shared crate's");
}

#[test]
fn every_function_runs_the_rust_binary_on_arm64_with_the_settings_the_code_reads() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Runtime"], "provided.al2023");
    assert_eq!(globals["Architectures"], json!(["arm64"]));
    assert!(globals.get("Handler").is_none(), "each function's Handler names it");
    // API Gateway gives up on an integration after 30 s; a function must answer well before.
    assert!(globals["Timeout"].as_i64().unwrap() < 30);
    for (id, function) in of_type(&t, "AWS::Serverless::Function") {
        for key in ["Runtime", "Architectures", "Environment"] {
            assert!(function["Properties"].get(key).is_none(), "{id} overrides Globals.Function.{key}");
        }
    }

    let env = globals["Environment"]["Variables"].as_object().unwrap();
    assert_eq!(env["RSVP_TABLE_NAME"], reference("Table"));
    assert_eq!(env["RSVP_PUBLIC_URL"], reference("PublicUrl"));
    assert_eq!(env["RSVP_SIGN_IN_URL"], reference("SignInUrl"));
    assert_eq!(env["RSVP_CLAIM_TENANT"], reference("ClaimTenant"));
    assert_eq!(env["RSVP_CLAIM_ROLES"], reference("ClaimRoles"));
    assert_eq!(env["RSVP_EMAIL_ALWAYS_VERIFIED"], reference("EmailAlwaysVerified"));
    assert_eq!(env["RSVP_PORTAL_URL"], reference("PortalUrl"));
    assert_eq!(env["RSVP_PORTAL_ID"], reference("PortalId"));
    assert_eq!(env["RSVP_PORTAL_NAME"], reference("PortalName"));
    assert_eq!(env["RSVP_PORTAL_SIGNING_KEY_ID"], reference("PortalSigningKey"));

    // Every RSVP_ setting the template passes is one the code reads (a misspelt name would be silently ignored),
    // and with the parameters' defaults the configuration is the code's own default. `rsvp::lambda::run` reads the
    // table, the outbox key (as the email consumer does) and the portal's signing key itself.
    let mut names = vec!["RSVP_TABLE_NAME".to_owned(), "RSVP_PORTAL_SIGNING_KEY_ID".to_owned()];
    names.extend(rsvp::lambda::DELIVER_EMAILS_SETTINGS.iter().map(|n| (*n).to_owned()));
    names.extend(rsvp::lambda::PUBLISH_EVENTS_SETTINGS.iter().map(|n| (*n).to_owned()));
    names.extend(rsvp::authorizer::SETTINGS.iter().map(|n| (*n).to_owned()));
    let read = RefCell::new(BTreeSet::from_iter(names));
    let parameters = &t["Parameters"];
    // The configuration the code reads with the parameters' defaults, but for those `given`.
    let config_with = |given: &[(&str, &str)]| {
        let value_of = |name: &str| -> Option<String> {
            read.borrow_mut().insert(name.to_owned());
            let value = env.get(name)?;
            let resolved = match value.get("Ref").and_then(Value::as_str) {
                Some(parameter) => match given.iter().find(|(p, _)| *p == parameter) {
                    Some((_, v)) => return Some((*v).to_owned()),
                    None => &parameters[parameter]["Default"],
                },
                None => value,
            };
            resolved.as_str().map(str::to_owned).or_else(|| resolved.as_i64().map(|n| n.to_string()))
        };
        let retention = Retention::from_lookup(value_of);
        Config::from_lookup(value_of).map(|config| (config, retention))
    };
    let (config, retention) = config_with(&[]).expect("the defaults make a valid configuration");
    assert_eq!(retention, Ok(Retention::DEFAULT));
    let (_, forever) = config_with(&[("AuditRetentionDays", "0")]).expect("0 is a valid setting");
    assert_eq!(forever, Ok(Retention::Forever), "AuditRetentionDays 0 keeps finished records for ever");
    assert_eq!(config.public_url, None, "an empty PublicUrl means links use the API's own domain");
    assert_eq!(config.sign_in_url, None, "an empty SignInUrl means the landing page explains how to accept");
    let defaults = ClaimNames::default();
    assert_eq!(config.claims.tenant, defaults.tenant);
    assert_eq!(config.claims.roles, defaults.roles);
    assert!(!config.claims.email_always_verified, "by default an address counts only when email_verified is true");
    assert_eq!(config.mail, rsvp::domain::MailBudget::default(), "the mail budget's parameters default to the code's");
    let (strict, _) =
        config_with(&[("EmailsPerTenantPerDay", "40"), ("EmailsPerRecipientPerDay", "2")]).expect("valid");
    assert_eq!((strict.mail.per_tenant_per_day, strict.mail.per_recipient_per_day), (40, 2));
    let floor = config_with(&[("MinResendCooldownMinutes", "30")]).expect("valid").0.mail.min_resend_cooldown_minutes;
    assert_eq!(floor, 30);
    let (trusting, _) = config_with(&[("EmailAlwaysVerified", "true")]).expect("true is a valid setting");
    assert!(trusting.claims.email_always_verified);
    assert!(
        config.portal.is_none(),
        "an empty PortalUrl means this deployment is not a portal (the routes answer 404)"
    );
    // A portal: PortalUrl and PortalId given, PortalName's default.
    let portal = config_with(&[("PortalUrl", "https://portal.example.com/arcgis"), ("PortalId", "portal-1")])
        .expect("a portal's URL and id make a valid configuration")
        .0
        .portal
        .expect("a deployment with a PortalUrl is a portal");
    assert_eq!((portal.url.as_str(), portal.id.as_str()), ("https://portal.example.com/arcgis", "portal-1"));
    assert_eq!(portal.name, parameters["PortalName"]["Default"].as_str().unwrap());
    // Without its id the functions would stop at their cold start: the template refuses the stack instead.
    assert!(config_with(&[("PortalUrl", "https://portal.example.com")]).is_err(), "a portal needs its id");
    let rule = &t["Rules"]["PortalIdWithPortalUrl"];
    assert_eq!(rule["RuleCondition"], json!({ "Fn::Not": [{ "Fn::Equals": [reference("PortalUrl"), ""] }] }));
    assert_eq!(rule["Assertions"][0]["Assert"], json!({ "Fn::Not": [{ "Fn::Equals": [reference("PortalId"), ""] }] }));
    for name in env.keys().filter(|n| n.starts_with("RSVP_")) {
        assert!(read.borrow().contains(name), "{name} is set by the template but read by nothing");
    }
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

#[test]
fn the_table_is_the_one_the_dynamodb_adapter_uses() {
    let t = template();
    let table = &resources(&t)["Table"];
    assert_eq!(table["Type"], "AWS::DynamoDB::Table");
    assert_eq!(table["DeletionPolicy"], "Retain");
    assert_eq!(table["UpdateReplacePolicy"], "Retain");
    let p = &table["Properties"];
    assert_eq!(p["BillingMode"], "PAY_PER_REQUEST");
    let key = |hash: &str, range: &str| json!([{ "AttributeName": hash, "KeyType": "HASH" }, { "AttributeName": range, "KeyType": "RANGE" }]);
    assert_eq!(p["KeySchema"], key("PK", "SK"));
    let attributes: BTreeMap<&str, &str> = p["AttributeDefinitions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["AttributeName"].as_str().unwrap(), a["AttributeType"].as_str().unwrap()))
        .collect();
    let strings = ["GSI1PK", "GSI1SK", "GSI2PK", "GSI2SK", "GSI3PK", "GSI3SK", "PK", "SK"].map(|name| (name, "S"));
    assert_eq!(attributes, BTreeMap::from(strings));
    let indexes: BTreeMap<&str, &Value> =
        p["GlobalSecondaryIndexes"].as_array().unwrap().iter().map(|i| (i["IndexName"].as_str().unwrap(), i)).collect();
    assert_eq!(indexes.keys().copied().collect::<Vec<_>>(), ["GSI1", "GSI2", "GSI3"]);
    for (name, index) in indexes {
        assert_eq!(index["KeySchema"], key(&format!("{name}PK"), &format!("{name}SK")), "{name}");
        // Lists read whole items from GSI1 and GSI2, with no second read per item; the sweep reads GSI3's keys and
        // then the items due, so writes that move an item in or out of the outbox cost GSI3 one unit each.
        let projection = if name == "GSI3" { "KEYS_ONLY" } else { "ALL" };
        assert_eq!(index["Projection"]["ProjectionType"], projection, "{name}");
    }
    // The adapter writes expiry as `ttl`, in epoch seconds.
    assert_eq!(p["TimeToLiveSpecification"], json!({ "AttributeName": "ttl", "Enabled": true }));
    assert_eq!(p["StreamSpecification"]["StreamViewType"], "NEW_AND_OLD_IMAGES");
    assert_eq!(p["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"], true);
    for output in ["ApiUrl", "TableName", "TableStreamArn"] {
        assert!(t["Outputs"][output]["Value"].is_object(), "output {output}");
    }
    assert_eq!(t["Outputs"]["TableStreamArn"]["Value"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
}

/// What each operation's code path asks of DynamoDB, from the `DynamoStore` methods it calls:
///
/// - `get_community`, `get_membership`, `get_invitation`, `get_user_invitation`, `get_user_settings`: `GetItem`;
/// - `list_members`: `Query` on the table; `list_tenant_communities`, `list_community_invitations`: `Query` on GSI1;
///   `list_accepted_invitations`: `Query` on GSI2; `list_user_invitations`: `Query` on GSI1 (a tenant's) or GSI2
///   (those one user sent);
/// - `get_communities`, and a membership read with its community or with an invitation
///   (`get_membership_and_community`, `get_membership_and_invitation`): `BatchGetItem`; `update_community`: a conditional `UpdateItem`; `delete_community`: a
///   transaction of two `Delete`s;
/// - `create_community`, `create_user_invitations`: a transaction of `Put`s (`PutItem`); `create_invitation`: the
///   same and an `Update` of the community's counters; `remove_member`: a `Delete` and that `Update`;
///   `put_user_settings`: a conditional `PutItem`;
/// - `apply`: a transaction that `Put`s the invitation, takes (`Put`) or releases (`Delete`) its lock, and joins
///   (`Put`), activates (`Update`) or removes (`Delete`) a membership, and moves the community's counters
///   (`Update`) when it opens or closes an invitation or adds or removes a tenant, as the transitions can; a
///   platform invitation's transition `Put`s it and takes (`Put`) or releases (`Delete`) its lock;
/// - the day's invitation count: a conditional `UpdateItem`; an `Idempotency-Key` record: claimed (`PutItem`),
///   answered (`UpdateItem`) or released (`DeleteItem`);
/// - the portal's: `get_collaboration`, `get_collaboration_invitation`: `GetItem`; `list_collaborations`: `Query` on
///   GSI1; `list_collaboration_invitations`, `list_participants`: `Query` on the table (the collaboration's
///   partition); `put_collaboration`, `create_collaboration_invitation`, `update_collaboration_invitation` (with the
///   participant an import adds), `join_collaboration`: transactions of `Put`s; `remove_participant`,
///   `leave_collaboration`: transactions of `Delete`s.
///
/// Transactions need only the item-level actions they contain; there is no separate TransactWriteItems permission.
/// Beside DynamoDB: sealing and unsealing with the outbox key (`kms:Encrypt`, `kms:Decrypt`), and the portal's
/// signer: `public_key` (`kms:GetPublicKey`, once per instance) and `sign` (`kms:Sign`) with the signing key.
fn permissions(operation: &str) -> BTreeSet<(String, &'static str)> {
    let set = |pairs: &[(&str, &'static str)]| pairs.iter().map(|(action, on)| ((*action).to_owned(), *on)).collect();
    match operation {
        "create_community" => set(&[("dynamodb:PutItem", "table")]),
        // The memberships from GSI1, then their communities, whose names can change.
        "list_communities" => set(&[("dynamodb:Query", "GSI1"), ("dynamodb:BatchGetItem", "table")]),
        "get_community" | "list_community_tenants" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table")])
        }
        // The community is updated, then read back with its tenants.
        "update_community" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("dynamodb:Query", "table"),
        ]),
        // The tenants (table) and the invitations (GSI1) are read to name what keeps it; the community and the
        // owner's membership are Deleted in one transaction.
        "delete_community" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:Query", "table"),
            ("dynamodb:Query", "GSI1"),
            ("dynamodb:DeleteItem", "table"),
        ]),
        // rsvp holds no streams: only the caller's membership and the community are read, in one BatchGetItem.
        "get_community_summary" | "search_community_streams" => set(&[("dynamodb:BatchGetItem", "table")]),
        // The membership is Deleted and the community's tenant counter Updated, in one transaction.
        "remove_community_tenant" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        "list_community_invitations" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "GSI1")]),
        // The invitation and its lock are both Puts, and the link secret is sealed for the outbox (KMS Encrypt);
        // the Idempotency-Key record is claimed and answered (Puts) or released (Delete), and the answer it keeps
        // is sealed, so a replay unseals it (KMS Decrypt).
        "create_community_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("kms:Encrypt", "outbox key"),
            ("kms:Decrypt", "outbox key"),
        ]),
        // The caller's membership and the invitation, in one BatchGetItem.
        "get_community_invitation" => set(&[("dynamodb:BatchGetItem", "table")]),
        "get_invitation_details" => set(&[("dynamodb:GetItem", "table")]),
        // Delete releases the lock or removes a membership awaiting confirmation, and moves the counters.
        "delete_community_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        // Accept joins (Put) and releases the lock (Delete), Confirm activates (Update), Decline removes (Delete),
        // Resend reads the owner tenant's settings (the cooldown) and whether the recipient is suppressed in one
        // BatchGetItem, takes the lock (Put) and seals the new secret (KMS Encrypt).
        "process_invitation" => set(&[
            ("kms:Encrypt", "outbox key"),
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        "list_tenant_accepted_invitations" => set(&[("dynamodb:Query", "GSI2")]),
        // The page shows a community invitation (with its community) or a platform invitation.
        "show_invitation_page" => set(&[("dynamodb:GetItem", "table")]),
        // Decline from the page (either kind), or Accept (a platform invitation): the invitation is a Put, releasing
        // its lock a Delete; a community invitation's decline moves its community's counter (an Update).
        "respond_to_invitation_page" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("dynamodb:UpdateItem", "table"),
        ]),
        // Reads the tenant's settings, reserves the day's count (Update), writes the invitations and their locks
        // (Puts) and seals each code for the outbox (KMS Encrypt); its Idempotency-Key record as create's.
        "invite_users" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("dynamodb:DeleteItem", "table"),
            ("kms:Encrypt", "outbox key"),
        ]),
        "get_business_settings" => set(&[("dynamodb:GetItem", "table")]),
        // The settings are read, then Put conditionally on the version read.
        "update_user_settings" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")]),
        // The suppression item is deleted; whether there was one is in DeleteItem's answer.
        "lift_suppression" => set(&[("dynamodb:DeleteItem", "table")]),
        // A tenant's invitations from GSI1 (for an administrator), those the caller sent from GSI2.
        "list_user_invitations" => set(&[("dynamodb:Query", "GSI1"), ("dynamodb:Query", "GSI2")]),
        // Revoke Puts the invitation and releases (Deletes) its lock.
        "revoke_user_invitation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table"), ("dynamodb:DeleteItem", "table")])
        }
        // Resend reads the invitation and the settings, reserves its email on the day's counts (Updates), Puts the
        // invitation and takes (Puts) its lock, and seals the new code (KMS Encrypt).
        "resend_user_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:BatchGetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("dynamodb:UpdateItem", "table"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // The first check of a code Puts the invitation, conditionally on the version read.
        "verify_invitation" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")]),
        // Accept Puts the invitation and releases (Deletes) its lock.
        "accept_user_invitation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table"), ("dynamodb:DeleteItem", "table")])
        }
        // The portal's own description carries its public key; it reads no table.
        "get_portal_self" => set(&[("kms:GetPublicKey", "signing key")]),
        "create_collaboration" => set(&[("dynamodb:PutItem", "table")]),
        "list_collaborations" => set(&[("dynamodb:Query", "GSI1")]),
        // A response is checked against the invitation it answers: reads only.
        "get_collaboration" | "validate_invitation_response" => set(&[("dynamodb:GetItem", "table")]),
        // The collaboration (or invitation) is read, then Put conditionally on the version read; an import Puts
        // the participant it adds in the same transaction.
        "add_workspace" | "invalidate_collaboration_invitation" | "import_invitation_response" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:PutItem", "table")])
        }
        // The file is signed with the portal's key (whose public half it carries), its nonce sealed to rebuild it.
        "invite_participant" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("kms:GetPublicKey", "signing key"),
            ("kms:Sign", "signing key"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // The workspaces carry each participant's access, and a participant is looked for among them.
        "list_collaboration_invitations"
        | "list_participants"
        | "list_workspaces"
        | "get_workspace"
        | "get_participant" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table")]),
        // The REST root, its info, the caller as a user, the empty administration root and the error for every other
        // path read nothing.
        "get_portal_root" | "get_portal_info" | "get_portal_user" | "get_portal_admin" | "portal_not_found" => set(&[]),
        // The file is rebuilt with its unsealed nonce.
        "get_collaboration_invitation" => set(&[("dynamodb:GetItem", "table"), ("kms:Decrypt", "outbox key")]),
        // A new nonce, sealed, in a file signed again; the request keeps the public key it carried.
        "refresh_collaboration_invitation" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:PutItem", "table"),
            ("kms:Sign", "signing key"),
            ("kms:Encrypt", "outbox key"),
        ]),
        // It checks the file's signature with the key the file carries, in the function: nothing at all.
        "validate_collaboration_invitation" => set(&[]),
        // The joined collaboration and the host are Puts; the nonce is sealed for the response.
        "accept_collaboration_invitation" => set(&[("dynamodb:PutItem", "table"), ("kms:Encrypt", "outbox key")]),
        // The host participant's sealed nonce is unsealed and echoed in a response signed with the portal's key.
        "export_invitation_response" => set(&[
            ("dynamodb:GetItem", "table"),
            ("dynamodb:Query", "table"),
            ("kms:Decrypt", "outbox key"),
            ("kms:GetPublicKey", "signing key"),
            ("kms:Sign", "signing key"),
        ]),
        "remove_participant" => set(&[("dynamodb:GetItem", "table"), ("dynamodb:DeleteItem", "table")]),
        // The guest's copy and the participants it knew are Deleted together.
        "remove_participation" => {
            set(&[("dynamodb:GetItem", "table"), ("dynamodb:Query", "table"), ("dynamodb:DeleteItem", "table")])
        }
        other => panic!("{other}: say which DynamoDB and KMS actions its code path needs"),
    }
}

/// The table, the index or the key a policy statement's `Resource` names; anything else fails the test.
fn resource_name(resource: &Value) -> &'static str {
    if *resource == json!({ "Fn::GetAtt": ["Table", "Arn"] }) {
        return "table";
    }
    if *resource == json!({ "Fn::GetAtt": ["OutboxKey", "Arn"] }) {
        return "outbox key";
    }
    if *resource == json!({ "Fn::GetAtt": ["PortalSigningKey", "Arn"] }) {
        return "signing key";
    }
    for index in ["GSI1", "GSI2", "GSI3"] {
        if *resource == json!({ "Fn::Sub": format!("${{Table.Arn}}/index/{index}") }) {
            return index;
        }
    }
    panic!("unexpected Resource {resource}: name the table, one of its indexes, the outbox key or the signing key")
}

/// Every (action, resource) a function's inline policies allow; each statement must be an Allow.
fn granted_to(function: &Value) -> BTreeSet<(String, String)> {
    let mut granted = BTreeSet::new();
    for policy in function["Policies"].as_array().expect("Policies") {
        for statement in policy["Statement"].as_array().expect("inline statements only") {
            assert_eq!(statement["Effect"], "Allow");
            for action in one_or_many(&statement["Action"]) {
                for resource in one_or_many(&statement["Resource"]) {
                    granted.insert((action.as_str().unwrap().to_owned(), resource.to_string()));
                }
            }
        }
    }
    granted
}

fn one_or_many(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[test]
fn each_function_may_do_only_what_its_operation_does() {
    let t = template();
    for route in ROUTES {
        let id = function_id(route.operation);
        let properties = &resources(&t)[&id]["Properties"];
        // SAM makes each function's role from the basic execution policy (its logs), X-Ray's write-only policy
        // (its traces, Globals.Function.Tracing) and the statements below; a role of its own would escape this check.
        for key in ["Role", "PermissionsBoundary"] {
            assert!(properties.get(key).is_none(), "{id}: {key}");
        }
        // No Policies at all: the function may do nothing but log.
        let no_policies = Vec::new();
        let policies = match properties.get("Policies") {
            None => &no_policies,
            Some(policies) => policies.as_array().unwrap_or_else(|| panic!("{id}: Policies is a list")),
        };
        let mut granted = BTreeSet::new();
        for policy in policies {
            // Only inline statements: a SAM policy template or a managed policy grants more than is written here.
            let statements =
                policy["Statement"].as_array().unwrap_or_else(|| panic!("{id}: inline policy statements only"));
            for statement in statements {
                assert_eq!(statement["Effect"], "Allow", "{id}");
                assert!(statement.get("NotAction").is_none() && statement.get("NotResource").is_none(), "{id}");
                for action in one_or_many(&statement["Action"]) {
                    let action = action.as_str().unwrap();
                    assert!(!action.contains('*'), "{id}: {action} is a wildcard");
                    for resource in one_or_many(&statement["Resource"]) {
                        assert!(
                            granted.insert((action.to_owned(), resource_name(resource))),
                            "{id}: {action} granted twice"
                        );
                    }
                }
            }
        }
        assert_eq!(granted, permissions(route.operation), "{id}");
    }
}

#[test]
fn every_function_logs_to_its_own_group_with_a_retention() {
    let t = template();
    let groups = of_type(&t, "AWS::Logs::LogGroup");
    let mut used = BTreeSet::new();
    for (id, function) in of_type(&t, "AWS::Serverless::Function") {
        let group = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
            .as_str()
            .unwrap_or_else(|| panic!("{id}: LoggingConfig.LogGroup"));
        assert!(used.insert(group), "{id} shares log group {group}");
        assert!(groups.contains_key(group), "{id}: {group} is not a log group");
    }
    // The one group beside the functions' is the API's access log (access_logs_never_carry_a_path_or_query).
    used.insert(ACCESS_LOG_GROUP);
    assert_eq!(used, groups.keys().copied().collect(), "no log group without a function or the API");
    for (id, group) in groups {
        // Kept as long as the parameter says (never for ever), and deleted with the stack: a retained group would
        // block a new stack of the same name.
        assert_eq!(group["Properties"]["RetentionInDays"], reference("LogRetentionInDays"), "{id}");
        assert_eq!(
            (&group["DeletionPolicy"], &group["UpdateReplacePolicy"]),
            (&json!("Delete"), &json!("Delete")),
            "{id}"
        );
    }
    assert_eq!(t["Parameters"]["LogRetentionInDays"]["Default"], 30);
}

const ACCESS_LOG_GROUP: &str = "ApiAccessLogGroup";

/// X-Ray traces every function (HTTP APIs have none of their own), and Lambda writes its own records in the JSON the
/// functions log in, to each function's own group.
#[test]
fn every_function_is_traced_and_lambda_logs_json_to_its_group() {
    let t = template();
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Tracing"], "Active");
    assert_eq!(globals["LoggingConfig"], json!({ "LogFormat": "JSON" }));
    for (id, function) in of_type(&t, "AWS::Serverless::Function") {
        let p = &function["Properties"];
        assert!(p.get("Tracing").is_none(), "{id} overrides Globals.Function.Tracing");
        // Only its own group: no other format, and no ApplicationLogLevel (the code reads RUST_LOG, not Lambda's).
        let config: BTreeSet<&str> =
            p["LoggingConfig"].as_object().expect("LoggingConfig").keys().map(String::as_str).collect();
        assert_eq!(config, BTreeSet::from(["LogGroup"]), "{id}");
    }
    assert_eq!(globals["Environment"]["Variables"]["RUST_LOG"], "info");
}

#[test]
fn the_email_consumer_reads_only_pending_deliveries_retries_boundedly_and_may_only_send_as_the_sender() {
    let t = template();
    let function = &resources(&t)["DeliverEmailsFunction"]["Properties"];
    let events = function["Events"].as_object().expect("Events");
    assert_eq!(events.len(), 1, "fed by one stream");
    let source = events.values().next().unwrap();
    assert_eq!(source["Type"], "DynamoDB");
    let p = &source["Properties"];
    assert_eq!(p["Stream"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
    assert_eq!(p["StartingPosition"], "LATEST");
    assert_eq!(p["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]), "failed records are named");
    assert_eq!(p["BisectBatchOnFunctionError"], true);
    let retries = p["MaximumRetryAttempts"].as_i64().expect("bounded retries");
    assert!((0..=10).contains(&retries), "{retries} retries");
    // A whole batch ends inside the timeout: each record that owes mail has at most DELIVERY_BUDGET.
    let budget = rsvp::mail::deliver::DELIVERY_BUDGET.as_secs() as i64;
    let (batch, timeout) =
        (p["BatchSize"].as_i64().expect("BatchSize"), function["Timeout"].as_i64().expect("Timeout"));
    assert!(batch * budget < timeout, "{batch} records x {budget} s must end inside the {timeout} s timeout");
    assert!(timeout < rsvp::domain::CLAIM_STALE_MINUTES * 60, "no consumer outlives a claim it took");
    assert_eq!(p["DestinationConfig"]["OnFailure"]["Type"], "SQS");
    assert_eq!(
        p["DestinationConfig"]["OnFailure"]["Destination"],
        json!({ "Fn::GetAtt": ["DeliverEmailsDeadLetterQueue", "Arn"] })
    );
    assert_eq!(resources(&t)["DeliverEmailsDeadLetterQueue"]["Type"], "AWS::SQS::Queue");
    // Only records whose new image is an invitation (community or platform) that owes an email; the consumer's own
    // write-backs (sending, sent, failed) do not match, so it never triggers itself.
    let filters = p["FilterCriteria"]["Filters"].as_array().expect("FilterCriteria");
    assert_eq!(filters.len(), 1);
    let pattern: Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).expect("a JSON pattern");
    let image = &pattern["dynamodb"]["NewImage"];
    assert_eq!(image["delivery"]["M"]["state"]["S"], json!([rsvp::domain::DeliveryState::Pending.as_str()]));
    assert_eq!(image["SK"]["S"], json!(["#INVITATION", "#USERINVITATION"]));

    let granted = granted_to(function);
    let table = json!({ "Fn::GetAtt": ["Table", "Arn"] }).to_string();
    let stream = json!({ "Fn::GetAtt": ["Table", "StreamArn"] }).to_string();
    let streams = json!({ "Fn::Sub": "${Table.Arn}/stream/*" }).to_string();
    let key = json!({ "Fn::GetAtt": ["OutboxKey", "Arn"] }).to_string();
    let sender =
        json!({ "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderAddress}" })
            .to_string();
    let dlq = json!({ "Fn::GetAtt": ["DeliverEmailsDeadLetterQueue", "Arn"] }).to_string();
    let wanted: BTreeSet<(String, String)> = [
        ("dynamodb:GetItem", &table),
        ("dynamodb:PutItem", &table),
        ("dynamodb:DescribeStream", &stream),
        ("dynamodb:GetRecords", &stream),
        ("dynamodb:GetShardIterator", &stream),
        ("dynamodb:ListStreams", &streams),
        ("kms:Decrypt", &key),
        ("ses:SendEmail", &sender),
        ("ses:SendEmail", &configuration_set()),
        ("sqs:SendMessage", &dlq),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.clone()))
    .collect();
    assert_eq!(granted, wanted);
    assert_eq!(resources(&t)["OutboxKey"]["Type"], "AWS::KMS::Key");
    assert_eq!(resources(&t)["OutboxKey"]["Properties"]["EnableKeyRotation"], true);
}

/// The configuration set SES sends through: the operator's own if given, else the stack's, which reports each
/// message's fate back.
fn configuration_set() -> String {
    let arn = |set: &str| json!({ "Fn::Sub": format!("arn:${{AWS::Partition}}:ses:${{AWS::Region}}:${{AWS::AccountId}}:configuration-set/${{{set}}}") });
    json!({ "Fn::If": ["HasOwnSesConfigurationSet", arn("SesConfigurationSet"), arn("MailConfigurationSet")] })
        .to_string()
}

/// The stack's configuration set reports deliveries, bounces, complaints, rejections and delays to the default bus
/// (the only one SES publishes to); a rule hands those about rsvp's messages to RecordMailFateFunction, retried for
/// a day into a dead-letter queue; the function may only read and write invitations; the email functions send
/// through the set.
#[test]
fn ses_reports_each_messages_fate_to_the_function_that_records_it() {
    let t = template();
    let r = resources(&t);
    assert_eq!(r["MailConfigurationSet"]["Type"], "AWS::SES::ConfigurationSet");
    let destination = &r["MailEventDestination"]["Properties"];
    assert_eq!(destination["ConfigurationSetName"], reference("MailConfigurationSet"));
    let d = &destination["EventDestination"];
    assert_eq!(d["Enabled"], true);
    assert_eq!(d["MatchingEventTypes"], json!(["delivery", "bounce", "complaint", "reject", "deliveryDelay"]));
    assert_eq!(
        d["EventBridgeDestination"]["EventBusArn"],
        json!({ "Fn::Sub": "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:event-bus/default" })
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(
        env["RSVP_SES_CONFIGURATION_SET"],
        json!({ "Fn::If": ["HasOwnSesConfigurationSet", reference("SesConfigurationSet"), reference("MailConfigurationSet")] })
    );

    let function = &r["RecordMailFateFunction"]["Properties"];
    let events = function["Events"].as_object().expect("Events");
    assert_eq!(events.len(), 1);
    let rule = events.values().next().unwrap();
    assert_eq!(rule["Type"], "EventBridgeRule");
    let p = &rule["Properties"];
    assert!(p.get("EventBusName").is_none(), "SES publishes to the default bus");
    assert_eq!(p["Pattern"]["source"], json!(["aws.ses"]));
    assert_eq!(p["Pattern"]["detail"]["mail"]["tags"][rsvp::mail::fate::TAG_INVITATION], json!([{ "exists": true }]));
    let types = p["Pattern"]["detail-type"].as_array().expect("detail-type");
    for wanted in
        ["Email Delivered", "Email Bounced", "Email Complaint Received", "Email Rejected", "Email Delivery Delayed"]
    {
        assert!(types.iter().any(|t| t == wanted), "{wanted}");
    }
    assert_eq!(p["RetryPolicy"]["MaximumEventAgeInSeconds"], 86400);
    // The template's own queue (SAM's could not be retained), which EventBridge may send to for this rule only:
    // SAM names the rule it makes after the function and the event.
    assert_eq!(p["DeadLetterConfig"], json!({ "Arn": { "Fn::GetAtt": ["RecordMailFateDeadLetterQueue", "Arn"] } }));
    let rule_id = format!("RecordMailFateFunction{}", events.keys().next().unwrap());
    let policy = &r["RecordMailFateFunctionFateQueuePolicy"];
    assert_eq!(policy["Type"], "AWS::SQS::QueuePolicy");
    assert_eq!(policy["Properties"]["Queues"], json!([reference("RecordMailFateDeadLetterQueue")]));
    let statements = policy["Properties"]["PolicyDocument"]["Statement"].as_array().expect("Statement");
    assert_eq!(statements.len(), 1);
    assert_eq!(statements[0]["Effect"], "Allow");
    assert_eq!(statements[0]["Principal"], json!({ "Service": "events.amazonaws.com" }));
    assert_eq!(statements[0]["Action"], "sqs:SendMessage");
    assert_eq!(statements[0]["Resource"], json!({ "Fn::GetAtt": ["RecordMailFateDeadLetterQueue", "Arn"] }));
    assert_eq!(
        statements[0]["Condition"],
        json!({ "ArnEquals": { "aws:SourceArn": { "Fn::GetAtt": [rule_id, "Arn"] } } })
    );
    let table = json!({ "Fn::GetAtt": ["Table", "Arn"] }).to_string();
    let wanted: BTreeSet<(String, String)> = [("dynamodb:GetItem", &table), ("dynamodb:PutItem", &table)]
        .into_iter()
        .map(|(a, r)| (a.to_owned(), r.clone()))
        .collect();
    assert_eq!(granted_to(function), wanted);
}

/// The publisher reads every invitation change in order (one reader per shard, a failed record retried with what
/// follows it), ends a batch inside its timeout, and may only keep its log, read the stream and put on the bus.
#[test]
fn the_events_publisher_reads_invitation_changes_in_order_and_may_only_put_on_the_bus() {
    let t = template();
    let function = &resources(&t)["PublishEventsFunction"]["Properties"];
    let events = function["Events"].as_object().expect("Events");
    assert_eq!(events.len(), 1, "fed by one stream");
    let p = &events.values().next().unwrap()["Properties"];
    assert_eq!(p["Stream"], json!({ "Fn::GetAtt": ["Table", "StreamArn"] }));
    assert_eq!(p["FunctionResponseTypes"], json!(["ReportBatchItemFailures"]), "the failed record is named");
    // Several readers of one shard, or a bisected batch, would publish an invitation's changes out of order.
    assert!(p.get("ParallelizationFactor").is_none_or(|f| f == 1));
    assert!(p.get("BisectBatchOnFunctionError").is_none_or(|b| b == false));
    let retries = p["MaximumRetryAttempts"].as_i64().expect("bounded retries");
    assert!((0..=10).contains(&retries), "{retries} retries");
    // Per record: the log read, PutEvents and the log write, each given up by the SDK after 6 s.
    let (batch, timeout) =
        (p["BatchSize"].as_i64().expect("BatchSize"), function["Timeout"].as_i64().expect("Timeout"));
    assert!(batch * 3 * 6 < timeout, "{batch} records must end inside the {timeout} s timeout");
    let dlq = json!({ "Fn::GetAtt": ["PublishEventsDeadLetterQueue", "Arn"] });
    assert_eq!(p["DestinationConfig"]["OnFailure"], json!({ "Type": "SQS", "Destination": dlq }));
    assert_eq!(resources(&t)["PublishEventsDeadLetterQueue"]["Type"], "AWS::SQS::Queue");
    let filters = p["FilterCriteria"]["Filters"].as_array().expect("FilterCriteria");
    let pattern: Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).expect("a JSON pattern");
    assert_eq!(pattern["eventName"], json!(["INSERT", "MODIFY"]));
    assert_eq!(pattern["dynamodb"]["NewImage"]["SK"]["S"], json!(["#INVITATION", "#USERINVITATION"]));
    assert_eq!(filters.len(), 1);

    let table = json!({ "Fn::GetAtt": ["Table", "Arn"] }).to_string();
    let stream = json!({ "Fn::GetAtt": ["Table", "StreamArn"] }).to_string();
    let streams = json!({ "Fn::Sub": "${Table.Arn}/stream/*" }).to_string();
    let bus = json!({ "Fn::GetAtt": ["EventBus", "Arn"] }).to_string();
    let wanted: BTreeSet<(String, String)> = [
        ("dynamodb:GetItem", &table),
        ("dynamodb:UpdateItem", &table),
        ("dynamodb:DescribeStream", &stream),
        ("dynamodb:GetRecords", &stream),
        ("dynamodb:GetShardIterator", &stream),
        ("dynamodb:ListStreams", &streams),
        ("events:PutEvents", &bus),
        ("sqs:SendMessage", &dlq.to_string()),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.clone()))
    .collect();
    assert_eq!(granted_to(function), wanted);
    assert_eq!(resources(&t)["EventBus"]["Type"], "AWS::Events::EventBus");
    assert_eq!(t["Globals"]["Function"]["Environment"]["Variables"]["RSVP_EVENT_BUS_NAME"], reference("EventBus"));
    assert_eq!(rsvp::publish::eventbridge::SOURCE, "rsvp");
}

/// The webhook exists only with `WebhookUrl`, needs its key, gets the envelope itself over HTTPS with that key,
/// is retried by EventBridge for a day into a queue of its own, and its role may only call that destination.
#[test]
fn the_webhook_is_optional_keyed_retried_by_eventbridge_and_its_role_only_invokes_it() {
    let t = template();
    let parameters = &t["Parameters"];
    assert_eq!(parameters["WebhookUrl"]["Default"], "");
    assert_eq!(parameters["WebhookUrl"]["AllowedPattern"], "^(https://.+)?$", "HTTPS only");
    assert_eq!(parameters["WebhookApiKey"]["NoEcho"], true);
    let rule = &t["Rules"]["WebhookApiKeyWithWebhookUrl"];
    assert_eq!(rule["RuleCondition"], json!({ "Fn::Not": [{ "Fn::Equals": [reference("WebhookUrl"), ""] }] }));
    assert_eq!(
        rule["Assertions"][0]["Assert"],
        json!({ "Fn::Not": [{ "Fn::Equals": [reference("WebhookApiKey"), ""] }] })
    );
    assert_eq!(t["Conditions"]["HasWebhook"], rule["RuleCondition"]);
    let r = resources(&t);
    for id in ["WebhookConnection", "WebhookDestination", "WebhookRole", "WebhookRule", "WebhookDeadLetterQueue"] {
        assert_eq!(r[id]["Condition"], "HasWebhook", "{id}");
    }
    let auth = &r["WebhookConnection"]["Properties"];
    assert_eq!(auth["AuthorizationType"], "API_KEY");
    assert_eq!(auth["AuthParameters"]["ApiKeyAuthParameters"]["ApiKeyName"], "Authorization");
    let destination = &r["WebhookDestination"]["Properties"];
    assert_eq!(
        (destination["HttpMethod"].as_str(), &destination["InvocationEndpoint"]),
        (Some("POST"), &reference("WebhookUrl"))
    );
    let rule = &r["WebhookRule"]["Properties"];
    assert_eq!(rule["EventBusName"], reference("EventBus"));
    assert_eq!(rule["EventPattern"], json!({ "source": ["rsvp"] }));
    let target = &rule["Targets"][0];
    assert_eq!(target["Arn"], json!({ "Fn::GetAtt": ["WebhookDestination", "Arn"] }));
    assert_eq!(target["InputPath"], "$.detail", "the receiver gets the envelope of docs/events/");
    assert_eq!(target["RetryPolicy"]["MaximumEventAgeInSeconds"], 86400);
    assert_eq!(target["DeadLetterConfig"]["Arn"], json!({ "Fn::GetAtt": ["WebhookDeadLetterQueue", "Arn"] }));
    let role = &r["WebhookRole"]["Properties"];
    assert_eq!(role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["Service"], "events.amazonaws.com");
    let statements = &role["Policies"][0]["PolicyDocument"]["Statement"];
    assert_eq!(statements.as_array().map(Vec::len), Some(1));
    assert_eq!(statements[0]["Action"], "events:InvokeApiDestination");
    assert_eq!(statements[0]["Resource"], json!({ "Fn::GetAtt": ["WebhookDestination", "Arn"] }));
}

/// The sweep runs on a schedule, ends inside its timeout, reads only the outbox index (no Scan), and may do only what
/// the consumer does to an invitation: claim, record, unseal, send as the sender.
#[test]
fn the_outbox_sweep_runs_on_a_schedule_inside_its_timeout_and_may_only_read_the_index_and_send() {
    let t = template();
    let function = &resources(&t)["SweepDeliveriesFunction"]["Properties"];
    let events = function["Events"].as_object().expect("Events");
    assert_eq!(events.len(), 1, "run by one schedule");
    let source = events.values().next().unwrap();
    assert_eq!(source["Type"], "Schedule");
    let rate = source["Properties"]["Schedule"].as_str().expect("a schedule");
    let minutes: i64 = rate
        .strip_prefix("rate(")
        .and_then(|r| r.strip_suffix(" minutes)"))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{rate} is not rate(<n> minutes)"));
    assert!((1..=15).contains(&minutes), "every few minutes, not {minutes}");
    let timeout = function["Timeout"].as_i64().expect("Timeout");
    // At most EXPIRY_BUDGET recording expiries, then one Query (the SDK gives up after 6 s), then at most
    // SWEEP_LIMIT deliveries of at most DELIVERY_BUDGET each.
    let budget = rsvp::mail::deliver::DELIVERY_BUDGET.as_secs() as i64;
    let expiries = rsvp::mail::sweep::EXPIRY_BUDGET.as_secs() as i64;
    let worst = expiries + 6 + rsvp::mail::sweep::SWEEP_LIMIT as i64 * budget;
    assert!(worst < timeout && timeout < minutes * 60, "{worst} s < {timeout} s < {minutes} minutes");

    let granted = granted_to(function);
    let table = json!({ "Fn::GetAtt": ["Table", "Arn"] }).to_string();
    let index = json!({ "Fn::Sub": "${Table.Arn}/index/GSI3" }).to_string();
    let key = json!({ "Fn::GetAtt": ["OutboxKey", "Arn"] }).to_string();
    let sender =
        json!({ "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderAddress}" })
            .to_string();
    let wanted: BTreeSet<(String, String)> = [
        ("dynamodb:Query", &index),
        ("dynamodb:BatchGetItem", &table),
        ("dynamodb:GetItem", &table),
        ("dynamodb:PutItem", &table),
        ("kms:Decrypt", &key),
        ("ses:SendEmail", &sender),
        ("ses:SendEmail", &configuration_set()),
    ]
    .into_iter()
    .map(|(a, r)| (a.to_owned(), r.clone()))
    .collect();
    assert_eq!(granted, wanted);
}

/// The portal's signing key is an asymmetric P-256 key that signs and verifies only: its private half never leaves
/// KMS (the functions ask KMS to sign), the account administers it, and the functions' own policies say who may use
/// it (`each_function_may_do_only_what_its_operation_does`).
#[test]
fn the_portal_signs_with_a_kms_key_whose_private_half_never_leaves_kms() {
    let t = template();
    let key = &resources(&t)["PortalSigningKey"];
    assert_eq!(key["Type"], "AWS::KMS::Key");
    let p = &key["Properties"];
    // What `KmsSigner` asks for: ECDSA_SHA_256 with a P-256 key, whose GetPublicKey is a SubjectPublicKeyInfo.
    assert_eq!(p["KeySpec"], "ECC_NIST_P256");
    assert_eq!(p["KeyUsage"], "SIGN_VERIFY");
    assert!(p.get("EnableKeyRotation").is_none(), "KMS does not rotate asymmetric keys");
    // Other portals know this portal by its public key: deleting or replacing the stack keeps the key.
    assert_eq!(key["DeletionPolicy"], "Retain");
    assert_eq!(key["UpdateReplacePolicy"], "Retain");
    // The outbox key's policy: only the account, which grants use through the functions' IAM policies.
    assert_eq!(p["KeyPolicy"], resources(&t)["OutboxKey"]["Properties"]["KeyPolicy"]);
    let statements = p["KeyPolicy"]["Statement"].as_array().unwrap();
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0]["Principal"],
        json!({ "AWS": { "Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root" } })
    );
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(env["RSVP_PORTAL_SIGNING_KEY_ID"], reference("PortalSigningKey"));
}

/// Every parameter says what it is for, and each optional feature's parameters default to it being off (or to a
/// value that is safe as it is), so a stack deployed with only the required parameters is a working one.
#[test]
fn every_parameter_is_described_and_the_optional_features_default_to_off() {
    let t = template();
    for (name, parameter) in t["Parameters"].as_object().expect("Parameters") {
        let description = parameter["Description"].as_str().unwrap_or_else(|| panic!("{name}: Description"));
        assert!(description.len() > 10, "{name}: {description}");
    }
    let parameters = &t["Parameters"];
    for name in ["AlarmEmail", "CorsAllowedOrigins", "DomainName", "CertificateArn", "HostedZoneId"] {
        assert_eq!(parameters[name]["Default"], "", "{name}: off unless given");
        let pattern = regex_lite::Regex::new(parameters[name]["AllowedPattern"].as_str().expect("AllowedPattern"))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(pattern.is_match(""), "{name}: its default passes its own pattern");
    }
    assert_eq!(parameters["ProjectTag"]["Default"], "rsvp");
    assert_eq!(parameters["EnvironmentTag"]["Default"], "production");
    assert_eq!(parameters["AlarmBounceRate"]["Default"], 0.05);
    assert_eq!(parameters["AlarmComplaintRate"]["Default"], 0.001);
}

fn alarms(t: &Value) -> BTreeMap<&str, &Value> {
    of_type(t, "AWS::CloudWatch::Alarm")
}

/// Every alarm notifies one topic, when it goes off and when it clears, and is quiet without data (no traffic, an
/// idle queue); the topic mails `AlarmEmail` only when one is given.
#[test]
fn alarms_notify_one_topic_which_mails_the_alarm_email_only_when_given() {
    let t = template();
    let r = resources(&t);
    let pattern = regex_lite::Regex::new(t["Parameters"]["AlarmEmail"]["AllowedPattern"].as_str().unwrap()).unwrap();
    assert!(pattern.is_match("ops@example.com") && pattern.is_match(""));
    assert!(!pattern.is_match("ops") && !pattern.is_match("ops@example"));
    assert_eq!(
        t["Conditions"]["HasAlarmEmail"],
        json!({ "Fn::Not": [{ "Fn::Equals": [reference("AlarmEmail"), ""] }] })
    );
    let topics = of_type(&t, "AWS::SNS::Topic");
    assert_eq!(topics.keys().copied().collect::<Vec<_>>(), ["AlarmTopic"]);
    assert!(topics["AlarmTopic"].get("Condition").is_none(), "the topic is there for other subscriptions too");
    let subscriptions = of_type(&t, "AWS::SNS::Subscription");
    assert_eq!(subscriptions.keys().copied().collect::<Vec<_>>(), ["AlarmEmailSubscription"]);
    let subscription = &r["AlarmEmailSubscription"];
    assert_eq!(subscription["Condition"], "HasAlarmEmail");
    assert_eq!(
        subscription["Properties"],
        json!({ "TopicArn": reference("AlarmTopic"), "Protocol": "email", "Endpoint": reference("AlarmEmail") })
    );
    assert_eq!(t["Outputs"]["AlarmTopicArn"]["Value"], reference("AlarmTopic"));

    let alarms = alarms(&t);
    assert!(alarms.len() >= 4 + 2 * 6 + 3, "{} alarms", alarms.len());
    for (id, alarm) in alarms {
        let p = &alarm["Properties"];
        assert_eq!(p["AlarmActions"], json!([reference("AlarmTopic")]), "{id}");
        assert_eq!(p["OKActions"], json!([reference("AlarmTopic")]), "{id}");
        assert!(p.get("ActionsEnabled").is_none_or(|enabled| enabled == true), "{id}");
        assert_eq!(p["TreatMissingData"], "notBreaching", "{id}");
        assert_eq!(p["EvaluationPeriods"], 1, "{id}: the first bad period alarms");
        assert!(p["AlarmDescription"].as_str().is_some_and(|d| !d.is_empty()), "{id}: says what went wrong");
    }
}

/// A message in a dead-letter queue is work that failed every retry (an email, an event, the webhook's delivery,
/// a mail fate): each queue has an alarm as soon as it holds one.
#[test]
fn alarms_watch_every_dead_letter_queue() {
    let t = template();
    let queues = of_type(&t, "AWS::SQS::Queue");
    assert_eq!(
        queues.keys().copied().collect::<BTreeSet<_>>(),
        BTreeSet::from([
            "DeliverEmailsDeadLetterQueue",
            "PublishEventsDeadLetterQueue",
            "RecordMailFateDeadLetterQueue",
            "WebhookDeadLetterQueue"
        ]),
        "every queue is a dead-letter queue"
    );
    let alarms = alarms(&t);
    for (id, queue) in queues {
        let dimensions = json!([{ "Name": "QueueName", "Value": { "Fn::GetAtt": [id, "QueueName"] } }]);
        let watching: Vec<_> = alarms
            .iter()
            .filter(|(_, a)| a["Properties"]["Namespace"] == "AWS/SQS" && a["Properties"]["Dimensions"] == dimensions)
            .collect();
        assert_eq!(watching.len(), 1, "{id}: one alarm");
        let (alarm_id, alarm) = watching[0];
        let p = &alarm["Properties"];
        assert_eq!(p["MetricName"], "ApproximateNumberOfMessagesVisible", "{alarm_id}");
        assert_eq!(p["Statistic"], "Maximum", "{alarm_id}");
        assert_eq!(
            (&p["ComparisonOperator"], &p["Threshold"]),
            (&json!("GreaterThanThreshold"), &json!(0)),
            "{alarm_id}: > 0"
        );
        assert!(p["Period"].as_i64().is_some_and(|s| s <= 300), "{alarm_id}: within five minutes");
        // The webhook's queue exists only with the webhook, and so does its alarm.
        assert_eq!(alarm.get("Condition"), queue.get("Condition"), "{alarm_id}");
    }
}

/// Each function's errors (an unhandled error, a crash, a timeout) and throttles raise an alarm: every function is
/// in exactly one alarm per metric, each adding up at most ten functions (metric math's limit per alarm) rather
/// than one alarm per function (116 alarms against CloudFormation's 500 resources), nor Lambda's account-wide
/// metrics, which would count other stacks' functions.
#[test]
fn alarms_watch_every_functions_errors_and_throttles() {
    let t = template();
    let functions: BTreeSet<&str> = of_type(&t, "AWS::Serverless::Function").keys().copied().collect();
    assert_eq!(functions.len(), ROUTES.len() + STREAM_FUNCTIONS.len());
    for metric in ["Errors", "Throttles"] {
        let mut watched = BTreeSet::new();
        let mut groups = 0;
        for (id, alarm) in alarms(&t) {
            let p = &alarm["Properties"];
            let Some(metrics) = p["Metrics"].as_array() else { continue };
            let stats: Vec<&Value> = metrics.iter().filter(|m| m.get("MetricStat").is_some()).collect();
            if !stats.iter().any(|m| m["MetricStat"]["Metric"]["MetricName"] == metric) {
                continue;
            }
            groups += 1;
            assert!(stats.len() <= 10, "{id}: an alarm's metric math takes at most 10 metrics");
            for m in &stats {
                let stat = &m["MetricStat"];
                assert_eq!(stat["Metric"]["Namespace"], "AWS/Lambda", "{id}");
                assert_eq!(stat["Metric"]["MetricName"], metric, "{id}: one metric per alarm");
                assert_eq!(stat["Stat"], "Sum", "{id}");
                assert_eq!(stat["Period"], 300, "{id}");
                assert_eq!(m["ReturnData"], false, "{id}");
                let dimensions = stat["Metric"]["Dimensions"].as_array().expect("Dimensions");
                assert_eq!(dimensions.len(), 1, "{id}");
                assert_eq!(dimensions[0]["Name"], "FunctionName", "{id}");
                let function = dimensions[0]["Value"]["Ref"].as_str().unwrap_or_else(|| panic!("{id}: Ref a function"));
                assert!(functions.contains(function), "{id}: {function} is not a function");
                assert!(watched.insert(function), "{function}'s {metric} are in two alarms");
            }
            let expressions: Vec<&Value> = metrics.iter().filter(|m| m.get("Expression").is_some()).collect();
            assert_eq!(expressions.len(), 1, "{id}");
            assert_eq!(expressions[0]["Expression"], "SUM(FILL(METRICS(), 0))", "{id}: every function's, none missing");
            assert_eq!(expressions[0]["ReturnData"], true, "{id}");
            assert_eq!(metrics.len(), stats.len() + 1, "{id}");
            assert_eq!(
                (&p["ComparisonOperator"], &p["Threshold"]),
                (&json!("GreaterThanThreshold"), &json!(0)),
                "{id}: > 0"
            );
        }
        assert_eq!(watched, functions, "every function's {metric}, each in one alarm");
        assert!(groups <= 8, "{groups} {metric} alarms");
    }
}

/// The API's 5xx (a function or the authorizer failed, timed out or was throttled) and the account's SES bounce
/// and complaint rates, past which SES reviews the account and may pause its sending.
#[test]
fn alarms_watch_the_apis_5xx_and_the_accounts_mail_reputation() {
    let t = template();
    let alarms = alarms(&t);
    let find = |namespace: &str, metric: &str| {
        let found: Vec<&Value> = alarms
            .values()
            .copied()
            .filter(|a| a["Properties"]["Namespace"] == namespace && a["Properties"]["MetricName"] == metric)
            .collect();
        assert_eq!(found.len(), 1, "one alarm on {namespace} {metric}");
        &found[0]["Properties"]
    };
    let api = find("AWS/ApiGateway", "5xx");
    assert_eq!(api["Dimensions"], json!([{ "Name": "ApiId", "Value": reference("HttpApi") }]));
    assert_eq!(api["Statistic"], "Sum");
    assert_eq!((&api["ComparisonOperator"], &api["Threshold"]), (&json!("GreaterThanThreshold"), &json!(0)));

    let parameters = &t["Parameters"];
    for (metric, parameter, default) in
        [("Reputation.BounceRate", "AlarmBounceRate", 0.05), ("Reputation.ComplaintRate", "AlarmComplaintRate", 0.001)]
    {
        let alarm = find("AWS/SES", metric);
        // The account's rate, which is what SES reviews, whichever configuration set sent.
        assert!(alarm.get("Dimensions").is_none(), "{metric}");
        assert_eq!(alarm["Threshold"], reference(parameter), "{metric}");
        assert_eq!(alarm["ComparisonOperator"], "GreaterThanOrEqualToThreshold", "{metric}");
        assert_eq!(alarm["Statistic"], "Maximum", "{metric}");
        let p = &parameters[parameter];
        assert_eq!((p["Type"].as_str(), p["Default"].as_f64()), (Some("Number"), Some(default)), "{parameter}");
        assert_eq!((p["MinValue"].as_i64(), p["MaxValue"].as_i64()), (Some(0), Some(1)), "{parameter}: a fraction");
    }
}

/// The access log names each request's route (its template, e.g. `GET /invite/{invitationId}`), status, latencies,
/// time and id, and nothing else: never the path or the query, which carry the invitation's secret on the landing
/// page and ids and codes elsewhere, nor headers or the caller's identity.
#[test]
fn access_logs_never_carry_a_path_or_query() {
    let t = template();
    let settings = &resources(&t)["HttpApi"]["Properties"]["AccessLogSettings"];
    assert_eq!(settings["DestinationArn"], json!({ "Fn::GetAtt": [ACCESS_LOG_GROUP, "Arn"] }));
    let group = &resources(&t)[ACCESS_LOG_GROUP];
    assert_eq!(group["Type"], "AWS::Logs::LogGroup");
    assert_eq!(group["Properties"]["RetentionInDays"], reference("LogRetentionInDays"));
    let format = settings["Format"].as_str().expect("a format string");
    let fields: BTreeMap<String, String> = serde_json::from_str(format).expect("one JSON object of strings a request");
    let wanted = [
        ("requestId", "$context.requestId"),
        ("requestTime", "$context.requestTime"),
        ("routeKey", "$context.routeKey"),
        ("status", "$context.status"),
        ("responseLatency", "$context.responseLatency"),
        ("integrationLatency", "$context.integrationLatency"),
    ];
    assert_eq!(fields, wanted.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
    // Every variable of the format, wherever it stands, is one of those.
    let variables: BTreeSet<&str> = format
        .split('$')
        .skip(1)
        .map(|v| v.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.')).next().unwrap())
        .collect();
    assert_eq!(variables, wanted.iter().map(|(_, v)| &v[1..]).collect());
    for variable in variables {
        let lower = variable.to_ascii_lowercase();
        for forbidden in ["path", "query", "uri", "header", "identity", "request."] {
            assert!(!lower.contains(forbidden), "{variable} may carry {forbidden}");
        }
    }
}

/// CORS is off unless origins are given; then it allows exactly those origins, the methods the routes use, the
/// headers the API reads and exposes the ones its answers carry for a browser, without credentials (bearer tokens
/// in a header, no cookies).
#[test]
fn cors_is_off_unless_origins_are_given_and_allows_only_the_apis_headers() {
    let t = template();
    let parameter = &t["Parameters"]["CorsAllowedOrigins"];
    // A String SAM substitutes, split by CloudFormation (a CommaDelimitedList would reach SAM's substitution as it is).
    assert_eq!(parameter["Type"], "String");
    let pattern = regex_lite::Regex::new(parameter["AllowedPattern"].as_str().unwrap()).unwrap();
    for origins in ["", "https://app.example.com", "https://app.example.com,http://localhost:3000"] {
        assert!(pattern.is_match(origins), "{origins}");
    }
    for origins in ["*", "https://app.example.com/", "app.example.com", "https://a.example.com, https://b.example.com"]
    {
        assert!(!pattern.is_match(origins), "{origins}");
    }
    assert_eq!(
        t["Conditions"]["HasCors"],
        json!({ "Fn::Not": [{ "Fn::Equals": [reference("CorsAllowedOrigins"), ""] }] })
    );
    let cors = &resources(&t)["HttpApi"]["Properties"]["CorsConfiguration"]["Fn::If"];
    assert_eq!(cors[0], "HasCors");
    assert_eq!(cors[2], reference("AWS::NoValue"), "no CORS configuration at all without origins");
    let c = &cors[1];
    assert_eq!(c["AllowOrigins"], json!({ "Fn::Split": [",", reference("CorsAllowedOrigins")] }));
    let set = |v: &Value| -> BTreeSet<String> {
        v.as_array().expect("a list").iter().map(|h| h.as_str().unwrap().to_ascii_lowercase()).collect()
    };
    let read = [
        "authorization",
        "content-type",
        rsvp::ops::idempotency::IDEMPOTENCY_KEY_HEADER,
        rsvp::ops::communities::INVITATION_TOKEN_HEADER,
        rsvp::http::token::ESRI_AUTHORIZATION,
    ];
    assert_eq!(set(&c["AllowHeaders"]), read.iter().map(|h| (*h).to_owned()).collect());
    let exposed = [rsvp::ops::idempotency::REPLAYED_HEADER, "retry-after", "link"];
    assert_eq!(set(&c["ExposeHeaders"]), exposed.iter().map(|h| (*h).to_owned()).collect());
    let methods: BTreeSet<String> = ROUTES
        .iter()
        .flat_map(|r| r.route_keys())
        .map(|(m, _)| m.to_ascii_lowercase())
        .filter(|m| m != "any")
        .collect();
    assert_eq!(set(&c["AllowMethods"]), methods);
    assert_eq!(c["AllowCredentials"], false);
    assert!(c["MaxAge"].as_i64().is_some_and(|s| (1..=7200).contains(&s)));
}

/// The custom domain exists only with `DomainName`, needs its certificate, maps to the API's stage, and gets its
/// DNS record only with `HostedZoneId`.
#[test]
fn the_custom_domain_is_optional_and_needs_its_certificate() {
    let t = template();
    let not_empty = |p: &str| json!({ "Fn::Not": [{ "Fn::Equals": [reference(p), ""] }] });
    assert_eq!(t["Conditions"]["HasDomain"], not_empty("DomainName"));
    assert_eq!(
        t["Conditions"]["HasDomainRecord"],
        json!({ "Fn::And": [{ "Condition": "HasDomain" }, not_empty("HostedZoneId")] })
    );
    let rule = &t["Rules"]["CertificateArnWithDomainName"];
    assert_eq!(rule["RuleCondition"], not_empty("DomainName"));
    assert_eq!(rule["Assertions"][0]["Assert"], not_empty("CertificateArn"));
    let rule = &t["Rules"]["DomainNameWithCertificateArnOrHostedZoneId"];
    assert_eq!(rule["RuleCondition"], json!({ "Fn::Or": [not_empty("CertificateArn"), not_empty("HostedZoneId")] }));
    assert_eq!(rule["Assertions"][0]["Assert"], not_empty("DomainName"));
    let parameters = &t["Parameters"];
    let matches = |p: &str, value: &str| {
        regex_lite::Regex::new(parameters[p]["AllowedPattern"].as_str().unwrap()).unwrap().is_match(value)
    };
    assert!(matches("DomainName", "invitations.example.com") && !matches("DomainName", "https://example.com"));
    assert!(matches(
        "CertificateArn",
        "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b2c3d-1111-2222-3333-444455556666"
    ));
    assert!(!matches("CertificateArn", "arn:aws:iam::123456789012:role/x"));
    assert!(matches("HostedZoneId", "Z0123456789ABCDEFGHIJ") && !matches("HostedZoneId", "example.com"));

    let r = resources(&t);
    // Not SAM's Domain property, which cannot be conditional.
    assert!(r["HttpApi"]["Properties"].get("Domain").is_none());
    let domain = &r["ApiDomainName"];
    assert_eq!((&domain["Type"], &domain["Condition"]), (&json!("AWS::ApiGatewayV2::DomainName"), &json!("HasDomain")));
    assert_eq!(domain["Properties"]["DomainName"], reference("DomainName"));
    assert_eq!(
        domain["Properties"]["DomainNameConfigurations"],
        json!([{ "CertificateArn": reference("CertificateArn"), "EndpointType": "REGIONAL", "SecurityPolicy": "TLS_1_2" }])
    );
    let mapping = &r["ApiDomainMapping"];
    assert_eq!(
        (&mapping["Type"], &mapping["Condition"]),
        (&json!("AWS::ApiGatewayV2::ApiMapping"), &json!("HasDomain"))
    );
    assert_eq!(
        mapping["Properties"],
        json!({ "DomainName": reference("ApiDomainName"), "ApiId": reference("HttpApi"), "Stage": reference("HttpApi.Stage") })
    );
    let record = &r["ApiDomainRecord"];
    assert_eq!((&record["Type"], &record["Condition"]), (&json!("AWS::Route53::RecordSet"), &json!("HasDomainRecord")));
    let p = &record["Properties"];
    assert_eq!(
        (&p["HostedZoneId"], &p["Name"], &p["Type"]),
        (&reference("HostedZoneId"), &reference("DomainName"), &json!("A"))
    );
    assert_eq!(
        p["AliasTarget"],
        json!({
            "DNSName": { "Fn::GetAtt": ["ApiDomainName", "RegionalDomainName"] },
            "HostedZoneId": { "Fn::GetAtt": ["ApiDomainName", "RegionalHostedZoneId"] }
        })
    );
    let url = &t["Outputs"]["ApiUrl"]["Value"]["Fn::If"];
    assert_eq!((&url[0], &url[1]), (&json!("HasDomain"), &json!({ "Fn::Sub": "https://${DomainName}" })));
    assert_eq!(t["Outputs"]["ApiDomainTarget"]["Condition"], "HasDomain");
}

/// The resource types the template declares that take CloudFormation tags as a list of `{Key, Value}`, and those
/// that take none; a type in neither list fails the test until it is put in one.
const LIST_TAGGED: &[&str] = &[
    "AWS::CloudWatch::Alarm",
    "AWS::DynamoDB::Table",
    "AWS::Events::EventBus",
    "AWS::Events::Rule",
    "AWS::IAM::Role",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SES::ConfigurationSet",
    "AWS::SNS::Topic",
    "AWS::SQS::Queue",
];
const UNTAGGABLE: &[&str] = &[
    "AWS::ApiGatewayV2::ApiMapping",
    "AWS::CloudWatch::Dashboard",
    "AWS::Events::ApiDestination",
    "AWS::Events::Connection",
    "AWS::Route53::RecordSet",
    "AWS::SES::ConfigurationSetEventDestination",
    "AWS::SNS::Subscription",
    "AWS::SQS::QueuePolicy",
];

/// The Project and Environment tags are on every resource that takes tags: the functions (and through SAM their
/// roles), the API (and its stage), and every other resource's own Tags.
#[test]
fn every_resource_carries_the_project_and_environment_tags() {
    let t = template();
    let map = json!({ "Project": reference("ProjectTag"), "Environment": reference("EnvironmentTag") });
    let list = [
        json!({ "Key": "Project", "Value": reference("ProjectTag") }),
        json!({ "Key": "Environment", "Value": reference("EnvironmentTag") }),
    ];
    let globals = &t["Globals"]["Function"];
    assert_eq!(globals["Tags"], map);
    assert_eq!(globals["PropagateTags"], true);
    for (id, resource) in resources(&t) {
        let kind = resource["Type"].as_str().unwrap();
        let tags = &resource["Properties"]["Tags"];
        match kind {
            "AWS::Serverless::Function" => {
                assert!(tags.is_null(), "{id}: the functions' tags are Globals.Function.Tags");
                assert!(resource["Properties"].get("PropagateTags").is_none(), "{id}");
            }
            "AWS::Serverless::HttpApi" => {
                assert_eq!(*tags, map, "{id}");
                assert_eq!(resource["Properties"]["PropagateTags"], true, "{id}");
            }
            // API Gateway's own resources take a map.
            "AWS::ApiGatewayV2::DomainName" => assert_eq!(*tags, map, "{id}"),
            kind if LIST_TAGGED.contains(&kind) => {
                let tags = tags.as_array().unwrap_or_else(|| panic!("{id}: Tags"));
                for tag in &list {
                    assert!(tags.contains(tag), "{id}: {tag}");
                }
            }
            kind if UNTAGGABLE.contains(&kind) => assert!(tags.is_null(), "{id}: {kind} takes no tags"),
            other => panic!("{id}: say whether {other} takes tags (LIST_TAGGED or UNTAGGABLE)"),
        }
    }
    for parameter in ["ProjectTag", "EnvironmentTag"] {
        let pattern = regex_lite::Regex::new(t["Parameters"][parameter]["AllowedPattern"].as_str().unwrap()).unwrap();
        assert!(!pattern.is_match(""), "{parameter}: some services refuse an empty tag value");
        assert!(pattern.is_match("rsvp") && pattern.is_match("team:invitations/prod-1"), "{parameter}");
    }
}

/// Deleting or replacing the stack keeps the table (the service's only state, which deletion protection also
/// guards against a hand), the KMS keys (without which sealed secrets and signed files are lost) and the
/// dead-letter queues (the only record of work that failed); the table recovers to any point of the last 35
/// days. Every dead-letter destination is one of the template's queues: a queue SAM makes cannot be retained.
#[test]
fn the_table_keys_and_queues_are_retained_and_the_table_recovers_to_a_point_in_time() {
    let t = template();
    let retained = |id: &str, resource: &Value| {
        assert_eq!(resource["DeletionPolicy"], "Retain", "{id}");
        assert_eq!(resource["UpdateReplacePolicy"], "Retain", "{id}");
    };
    let table = &resources(&t)["Table"];
    retained("Table", table);
    assert_eq!(table["Properties"]["PointInTimeRecoverySpecification"], json!({ "PointInTimeRecoveryEnabled": true }));
    assert_eq!(table["Properties"]["DeletionProtectionEnabled"], true);
    let keys = of_type(&t, "AWS::KMS::Key");
    assert_eq!(keys.keys().copied().collect::<Vec<_>>(), ["OutboxKey", "PortalSigningKey"]);
    for (id, key) in keys {
        retained(id, key);
    }
    let queues = of_type(&t, "AWS::SQS::Queue");
    assert_eq!(queues.len(), 4);
    for (id, queue) in &queues {
        retained(id, queue);
        assert_eq!(queue["Properties"]["MessageRetentionPeriod"], 1_209_600, "{id}: the longest SQS keeps");
        assert_eq!(queue["Properties"]["SqsManagedSseEnabled"], true, "{id}");
    }

    // Every dead-letter destination in the template: DeadLetterConfig (EventBridge targets, SAM's rule events)
    // and DestinationConfig.OnFailure (stream event source mappings).
    fn destinations<'a>(value: &'a Value, found: &mut Vec<&'a Value>) {
        match value {
            Value::Object(map) => {
                for (key, v) in map {
                    match key.as_str() {
                        "DeadLetterConfig" => found.push(v),
                        "OnFailure" => found.push(v),
                        _ => destinations(v, found),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| destinations(v, found)),
            _ => {}
        }
    }
    let mut found = Vec::new();
    destinations(&t["Resources"], &mut found);
    let mut used = BTreeSet::new();
    for destination in found {
        assert!(destination.get("QueueLogicalId").is_none(), "{destination}: SAM's queue, not retained");
        let arn = match destination.get("Destination") {
            Some(arn) => {
                assert_eq!(destination["Type"], "SQS", "{destination}");
                arn
            }
            None => {
                assert!(destination.get("Type").is_none(), "{destination}: SAM's queue, not retained");
                &destination["Arn"]
            }
        };
        let queue = arn["Fn::GetAtt"][0].as_str().unwrap_or_else(|| panic!("{destination}: a queue's Arn"));
        assert_eq!(arn["Fn::GetAtt"][1], "Arn");
        assert!(queues.contains_key(queue), "{queue} is not one of the template's queues");
        used.insert(queue);
    }
    assert_eq!(used, queues.keys().copied().collect(), "each queue is some dead-letter destination");
}

/// The dashboard shows every metric the published events are counted as (`rsvp::metrics`), for every dialect,
/// from the very namespace the publisher writes to (this stack's own).
#[test]
fn the_dashboard_shows_every_metric_of_every_dialect_from_the_publishers_namespace() {
    let t = template();
    let env = &t["Globals"]["Function"]["Environment"]["Variables"];
    assert_eq!(env["RSVP_METRICS_NAMESPACE"], json!({"Fn::Sub": "rsvp/${AWS::StackName}"}));
    let dashboards = of_type(&t, "AWS::CloudWatch::Dashboard");
    assert_eq!(dashboards.keys().copied().collect::<Vec<_>>(), ["Dashboard"]);
    let body = &dashboards["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"];
    assert_eq!(body[1]["Namespace"], env["RSVP_METRICS_NAMESPACE"], "the namespace the publisher writes to");
    let text = body[0].as_str().expect("the body").replace("${AWS::Region}", "us-east-1");
    let parsed: Value = serde_json::from_str(&text).expect("the dashboard body is JSON");
    let mut shown = BTreeSet::new();
    for widget in parsed["widgets"].as_array().expect("widgets") {
        for metric in widget["properties"]["metrics"].as_array().expect("metrics") {
            assert_eq!((&metric[0], &metric[2]), (&json!("${Namespace}"), &json!("Dialect")), "{metric}");
            shown.insert((metric[1].as_str().unwrap().to_owned(), metric[3].as_str().unwrap().to_owned()));
        }
    }
    for metric in rsvp::metrics::METRICS {
        for dialect in rsvp::metrics::DIALECTS {
            assert!(shown.contains(&((*metric).to_owned(), (*dialect).to_owned())), "{metric} of {dialect}");
        }
    }
    assert_eq!(shown.len(), rsvp::metrics::METRICS.len() * rsvp::metrics::DIALECTS.len(), "nothing else");
}
