//! What runs beside the routes: the email consumer and the events publisher (fed by the table's stream), SES's
//! reports of each message's fate, the optional webhook, and the outbox sweep (run on a schedule), each with the
//! permissions it needs and no more.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use crate::security::granted_to;
use crate::{reference, resources, template};

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
    let (table, stream, streams, key, sender) = (table_arn(), stream_arn(), streams_arn(), key_arn(), sender_arn());
    let dlq = json!({ "Fn::GetAtt": ["DeliverEmailsDeadLetterQueue", "Arn"] }).to_string();
    let wanted = grants(&[
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
    ]);
    assert_eq!(granted, wanted);
    assert_eq!(resources(&t)["OutboxKey"]["Type"], "AWS::KMS::Key");
    assert_eq!(resources(&t)["OutboxKey"]["Properties"]["EnableKeyRotation"], true);
}

/// The (action, resource) pairs a function's policies must grant, as [`granted_to`] reads them.
fn grants<R: AsRef<str>>(pairs: &[(&str, R)]) -> BTreeSet<(String, String)> {
    pairs.iter().map(|(action, resource)| ((*action).to_owned(), resource.as_ref().to_owned())).collect()
}

// The resources the functions below are granted, each as [`granted_to`] names it (the JSON text of the reference).

/// The table.
fn table_arn() -> String {
    json!({ "Fn::GetAtt": ["Table", "Arn"] }).to_string()
}

/// The table's stream, which the email consumer and the events publisher read.
fn stream_arn() -> String {
    json!({ "Fn::GetAtt": ["Table", "StreamArn"] }).to_string()
}

/// Any of the table's streams, which Lambda lists to find the one it reads.
fn streams_arn() -> String {
    json!({ "Fn::Sub": "${Table.Arn}/stream/*" }).to_string()
}

/// The outbox key, which unseals the secrets the emails carry.
fn key_arn() -> String {
    json!({ "Fn::GetAtt": ["OutboxKey", "Arn"] }).to_string()
}

/// The sender's SES identity, the one address the email functions may send as.
fn sender_arn() -> String {
    json!({ "Fn::Sub": "arn:${AWS::Partition}:ses:${AWS::Region}:${AWS::AccountId}:identity/${SenderAddress}" })
        .to_string()
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
    let table = table_arn();
    let wanted = grants(&[("dynamodb:GetItem", &table), ("dynamodb:PutItem", &table)]);
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

    let (table, stream, streams) = (table_arn(), stream_arn(), streams_arn());
    let bus = json!({ "Fn::GetAtt": ["EventBus", "Arn"] }).to_string();
    let wanted = grants(&[
        ("dynamodb:GetItem", &table),
        ("dynamodb:UpdateItem", &table),
        ("dynamodb:DescribeStream", &stream),
        ("dynamodb:GetRecords", &stream),
        ("dynamodb:GetShardIterator", &stream),
        ("dynamodb:ListStreams", &streams),
        ("events:PutEvents", &bus),
        ("sqs:SendMessage", &dlq.to_string()),
    ]);
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
    let (table, key, sender) = (table_arn(), key_arn(), sender_arn());
    let index = json!({ "Fn::Sub": "${Table.Arn}/index/GSI3" }).to_string();
    let wanted = grants(&[
        ("dynamodb:Query", &index),
        ("dynamodb:BatchGetItem", &table),
        ("dynamodb:GetItem", &table),
        ("dynamodb:PutItem", &table),
        ("kms:Decrypt", &key),
        ("ses:SendEmail", &sender),
        ("ses:SendEmail", &configuration_set()),
    ]);
    assert_eq!(granted, wanted);
}
