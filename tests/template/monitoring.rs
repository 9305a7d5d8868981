//! What an operator sees: each function's log group, tracing, the API's access log (which never carries a path
//! or a query), the alarms and the topic they notify, and the dashboard of the published events' metrics.

use std::collections::{BTreeMap, BTreeSet};

use rsvp::routes::ROUTES;
use serde_json::{Value, json};

use crate::{STREAM_FUNCTIONS, of_type, reference, resources, template};

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

pub(crate) fn alarms(t: &Value) -> BTreeMap<&str, &Value> {
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
