//! The functions themselves: each runs its own crate from the one bundle binary, on the Rust runtime on arm64,
//! with the environment (and so the configuration) the code reads.

use rsvp::app::{ClaimNames, Config};
use rsvp::store::dynamodb::Retention;
use std::cell::RefCell;
use std::collections::BTreeSet;

use rsvp::routes::ROUTES;
use serde_json::{Value, json};

use crate::{STREAM_FUNCTIONS, crate_name, function_id, of_type, reference, repo_root, resources, template};

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
