//! The stack's parameters (each described, the optional features off by default), the optional custom domain,
//! and the Project and Environment tags on every resource that takes tags.

use serde_json::json;

use crate::{reference, resources, template};

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
