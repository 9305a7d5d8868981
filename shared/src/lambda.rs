//! The Lambda entry points every function's `main` calls: set up logging, configuration, SDK clients and the store
//! once per cold start, then serve one route ([`run`]), the outbox stream ([`run_deliver_emails`]), the outbox
//! sweep ([`run_sweep_deliveries`]) or, with the `authorizer` feature, the portal routes' Lambda authorizer
//! (`run_portal_authorizer`).

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, service_fn};

use crate::app::{App, Config};
use crate::domain::SystemClock;
use crate::mail::deliver::Deliverer;
use crate::mail::ses::SesMailer;
use crate::routes::Route;
use crate::seal::KmsSealer;
use crate::sign::KmsSigner;
use crate::store::dynamodb::{DynamoStore, Retention};

/// Runs `route` as this Lambda function's only operation.
///
/// Reads `RSVP_TABLE_NAME` (the DynamoDB table) and everything [`Config::from_env`] reads; a missing or invalid
/// setting stops the cold start with a message rather than failing every request.
pub async fn run(route: &'static Route) -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let table = std::env::var("RSVP_TABLE_NAME").map_err(|_| "RSVP_TABLE_NAME is not set")?;
    let aws = aws_config().await;
    let store = dynamo_store(&aws, table)?;
    let mut app = App::new(Arc::new(store), config);
    // Set for the operations that issue link secrets (create, Resend); the others never seal.
    match env("RSVP_KMS_KEY_ID") {
        Some(key) => app = app.with_sealer(Arc::new(KmsSealer::new(aws_sdk_kms::Client::new(&aws), key))),
        // Harmless for operations that issue no secret; for create and Resend, their emails could not be sent.
        None => tracing::warn!("RSVP_KMS_KEY_ID is not set: link secrets are sealed with a key of this instance only"),
    }
    // Set for the portal operations that sign collaboration files; the key never leaves KMS.
    if let Some(key) = env("RSVP_PORTAL_SIGNING_KEY_ID") {
        app = app.with_signer(Arc::new(KmsSigner::new(aws_sdk_kms::Client::new(&aws), key)));
    }
    // The portal functions that read collaboration files are built with the fetcher of other portals' keys, over
    // HTTPS with the platform's roots only; without it every key would need its fingerprint. In the one-binary
    // bundle every function has the feature, so only the portal routes pay for the HTTPS client at cold start.
    #[cfg(feature = "portal-keys")]
    if matches!(route.kind, crate::routes::Kind::Portal | crate::routes::Kind::PortalPublic) {
        app = app.with_portal_keys(Arc::new(crate::portal_keys::HttpPortalKeys::new()?));
    }
    let app = Arc::new(app);
    lambda_http::run(service_fn(move |req| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(route.call(app, req).await) }
    }))
    .await
}

/// The functions that serve no route, by crate name: the stream consumers, the sweep and the portal authorizer.
pub const FUNCTIONS_WITHOUT_ROUTES: &[&str] =
    &["deliver-emails", "sweep-deliveries", "publish-events", "record-mail-fate", "portal-authorizer"];

/// Runs the function named `name`, as its crate under `functions/` would: an operation's crate name
/// (`create-community`: its route) or one of [`FUNCTIONS_WITHOUT_ROUTES`]. What the one-binary bundle runs, told
/// the name by the function's Handler (`src/bin/bundle.rs`). An unknown name stops the cold start and says so.
#[cfg(all(feature = "authorizer", feature = "eventbridge", feature = "portal-keys"))]
pub async fn run_function(name: &str) -> Result<(), Error> {
    match name {
        "deliver-emails" => run_deliver_emails().await,
        "sweep-deliveries" => run_sweep_deliveries().await,
        "publish-events" => run_publish_events().await,
        "record-mail-fate" => run_record_mail_fate().await,
        "portal-authorizer" => run_portal_authorizer().await,
        _ => match crate::routes::ROUTES.iter().find(|r| r.operation.replace('_', "-") == name) {
            Some(route) => run(route).await,
            None => Err(format!(
                "no function is named {name:?}: a function's Handler must name its crate (such as create-community)"
            )
            .into()),
        },
    }
}

/// The `deliver_emails` function: a DynamoDB stream consumer (not HTTP) that sends the invitations' outbox.
///
/// Reads `RSVP_TABLE_NAME`, `RSVP_KMS_KEY_ID` (the key that sealed the link secrets), `RSVP_MAIL_FROM` (the SES
/// sender, a verified identity) and optionally `RSVP_SES_CONFIGURATION_SET`. Answers each batch with the records
/// that failed (`batchItemFailures`), so Lambda retries only those.
pub async fn run_deliver_emails() -> Result<(), Error> {
    init_tracing();
    let deliverer = Arc::new(deliverer_from_env().await?);
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<StreamEvent>| {
        let deliverer = Arc::clone(&deliverer);
        async move { Ok::<_, Error>(deliverer.handle_records(&event.payload.records).await) }
    }))
    .await
}

/// The `publish_events` function: a DynamoDB stream consumer (not HTTP) that puts every change's events on the
/// EventBridge bus ([`crate::publish`]).
///
/// Reads `RSVP_TABLE_NAME` (the publisher's log lives in the table), `RSVP_EVENT_BUS_NAME` and, if set,
/// `RSVP_METRICS_NAMESPACE` (where the events are counted as metrics; `rsvp` if not). Answers each batch
/// with the first record that failed (`batchItemFailures`), so Lambda retries from there and order holds.
#[cfg(feature = "eventbridge")]
pub async fn run_publish_events() -> Result<(), Error> {
    use crate::publish::Publisher;
    use crate::publish::eventbridge::EventBridgeSink;

    init_tracing();
    let table = env("RSVP_TABLE_NAME").ok_or("RSVP_TABLE_NAME is not set")?;
    let bus = env(PUBLISH_EVENTS_SETTINGS[0]).ok_or("RSVP_EVENT_BUS_NAME is not set")?;
    let aws = aws_config().await;
    let publisher = Arc::new(Publisher {
        sink: Arc::new(EventBridgeSink::new(aws_sdk_eventbridge::Client::new(&aws), bus)),
        log: Arc::new(dynamo_store(&aws, table)?),
        clock: Arc::new(SystemClock),
        // The published events counted as CloudWatch metrics, under the namespace the template's dashboard reads.
        metrics_namespace: Some(
            env("RSVP_METRICS_NAMESPACE").unwrap_or_else(|| crate::metrics::DEFAULT_NAMESPACE.into()),
        ),
    });
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<StreamEvent>| {
        let publisher = Arc::clone(&publisher);
        async move { Ok::<_, Error>(publisher.handle_records(&event.payload.records).await) }
    }))
    .await
}

/// The `record_mail_fate` function, invoked by an EventBridge rule with each SES record of a message rsvp sent
/// (delivered, bounced, a complaint, ...): records it on the delivery ([`crate::mail::fate`]). Reads
/// `RSVP_TABLE_NAME`. A record it cannot use is skipped; only an unreachable table fails the invocation, which
/// EventBridge then retries.
pub async fn run_record_mail_fate() -> Result<(), Error> {
    use crate::mail::fate::FateRecorder;

    init_tracing();
    let table = env("RSVP_TABLE_NAME").ok_or("RSVP_TABLE_NAME is not set")?;
    let aws = aws_config().await;
    let recorder = Arc::new(FateRecorder { store: Arc::new(dynamo_store(&aws, table)?) });
    lambda_runtime::run(lambda_runtime::service_fn(move |event: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let recorder = Arc::clone(&recorder);
        async move {
            recorder.record(&event.payload).await.map(|_| ()).map_err(|e| {
                let cause = crate::http::redact(&e.to_string());
                tracing::error!(cause, "the fate could not be recorded");
                Error::from(cause)
            })
        }
    }))
    .await
}

/// The `sweep_deliveries` function, run on a schedule: re-drives the outbox mail the stream left or a dead sender
/// held ([`crate::mail::sweep`]). Reads what [`run_deliver_emails`] reads; answers each run with its
/// [`crate::mail::sweep::SweepReport`], and fails the run only if the table cannot be read.
pub async fn run_sweep_deliveries() -> Result<(), Error> {
    use crate::mail::sweep::Sweeper;

    init_tracing();
    let sweeper = Arc::new(Sweeper::new(Arc::new(deliverer_from_env().await?)));
    lambda_runtime::run(lambda_runtime::service_fn(move |_: lambda_runtime::LambdaEvent<serde_json::Value>| {
        let sweeper = Arc::clone(&sweeper);
        async move {
            sweeper.sweep().await.map_err(|e| {
                let cause = crate::http::redact(&e.to_string());
                tracing::error!(cause, "the outbox could not be swept");
                Error::from(cause)
            })
        }
    }))
    .await
}

/// The outbox consumer as both email functions build it, from `RSVP_TABLE_NAME`, `RSVP_KMS_KEY_ID`,
/// `RSVP_MAIL_FROM` and `RSVP_SES_CONFIGURATION_SET`; a missing or invalid one stops the cold start.
async fn deliverer_from_env() -> Result<Deliverer, Error> {
    let table = env("RSVP_TABLE_NAME").ok_or("RSVP_TABLE_NAME is not set")?;
    let key = env("RSVP_KMS_KEY_ID").ok_or("RSVP_KMS_KEY_ID is not set")?;
    let from = env("RSVP_MAIL_FROM").ok_or("RSVP_MAIL_FROM is not set")?;
    crate::domain::Email::parse(&from).map_err(|e| format!("RSVP_MAIL_FROM is not an email address: it {e}"))?;
    let aws = aws_config().await;
    Ok(Deliverer {
        store: Arc::new(dynamo_store(&aws, table)?),
        sealer: Arc::new(KmsSealer::new(aws_sdk_kms::Client::new(&aws), key)),
        mailer: Arc::new(SesMailer::new(aws_sdk_ses::Client::new(&aws), from, env("RSVP_SES_CONFIGURATION_SET"))),
        clock: Arc::new(SystemClock),
    })
}

/// The portal routes' Lambda authorizer ([`crate::authorizer`]): reads `RSVP_JWT_ISSUER`, `RSVP_JWT_AUDIENCE`
/// and optionally `RSVP_JWKS_URL` at cold start (a missing one stops it with a message), then decides each
/// request at the time it arrives.
#[cfg(feature = "authorizer")]
pub async fn run_portal_authorizer() -> Result<(), Error> {
    use aws_lambda_events::apigw::ApiGatewayV2CustomAuthorizerV2Request;

    use crate::authorizer::{Authorizer, Policy};

    init_tracing();
    let authorizer = Arc::new(Authorizer::new(Policy::from_env()?));
    lambda_runtime::run(lambda_runtime::service_fn(
        move |event: lambda_runtime::LambdaEvent<ApiGatewayV2CustomAuthorizerV2Request>| {
            let authorizer = Arc::clone(&authorizer);
            async move {
                let now = time::OffsetDateTime::now_utc().unix_timestamp();
                authorizer.decide(&event.payload, now).await.map_err(|error| {
                    tracing::error!(
                        cause = crate::http::redact(&error.to_string()),
                        "the issuer's keys could not be had"
                    );
                    Error::from(error.to_string())
                })
            }
        },
    ))
    .await
}

/// The settings [`run_deliver_emails`] and [`run_sweep_deliveries`] read besides `RSVP_TABLE_NAME` (the template
/// check holds them to it).
pub const DELIVER_EMAILS_SETTINGS: &[&str] = &["RSVP_KMS_KEY_ID", "RSVP_MAIL_FROM", "RSVP_SES_CONFIGURATION_SET"];

/// The settings [`run_publish_events`] reads besides `RSVP_TABLE_NAME` (the template check holds them to it).
pub const PUBLISH_EVENTS_SETTINGS: &[&str] = &["RSVP_EVENT_BUS_NAME", "RSVP_METRICS_NAMESPACE"];

/// The records of a stream batch that parse, in order; one that does not is logged and skipped, since retrying it
/// could never succeed. The stream consumers ([`crate::mail::deliver`], [`crate::publish`]) read their batches so.
pub fn parsed_records(
    records: &[serde_json::Value],
) -> impl Iterator<Item = aws_lambda_events::event::dynamodb::EventRecord> + '_ {
    records.iter().filter_map(|value| {
        let parsed = serde_json::from_value(value.clone());
        if parsed.is_err() {
            tracing::warn!("skipped a stream record that does not parse");
        }
        parsed.ok()
    })
}

/// The batch item failure that names `record` (by its sequence number) for Lambda to retry.
pub fn retry(
    record: &aws_lambda_events::event::dynamodb::EventRecord,
) -> aws_lambda_events::event::streams::DynamoDbBatchItemFailure {
    let mut failure = aws_lambda_events::event::streams::DynamoDbBatchItemFailure::default();
    failure.item_identifier = record.change.sequence_number.clone();
    failure
}

/// A stream event with its records left unparsed, so that one malformed record is skipped rather than failing the
/// whole batch (which a typed event would do).
#[derive(serde::Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<serde_json::Value>,
}

/// The SDK's configuration, with timeouts that keep an unreachable or throttling table inside the function's
/// 10 s: each attempt gives up after 2 s, and the standard retries (3 attempts, with backoff) after 6 s in all,
/// so the caller gets a 503 to retry rather than a Lambda timeout.
async fn aws_config() -> aws_config::SdkConfig {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(std::time::Duration::from_secs(2))
        .operation_timeout(std::time::Duration::from_secs(6))
        .build();
    aws_config::defaults(aws_config::BehaviorVersion::latest()).timeout_config(timeouts).load().await
}

/// The table's store, keeping finished records for `RSVP_AUDIT_RETENTION_DAYS` (days; 0 for ever; a year unless
/// set). A bad value stops the cold start: records must not go sooner than the operator asked.
fn dynamo_store(aws: &aws_config::SdkConfig, table: String) -> Result<DynamoStore, Error> {
    let retention = Retention::from_lookup(env)?;
    Ok(DynamoStore::new(aws_sdk_dynamodb::Client::new(aws), table).with_retention(retention))
}

/// A set, non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// One JSON object per line (CloudWatch Logs Insights reads its fields), without timestamps: CloudWatch adds its
/// own. `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_env_filter(filter)
        .without_time()
        .with_target(false)
        .try_init();
}

#[cfg(all(test, feature = "authorizer", feature = "eventbridge", feature = "portal-keys"))]
mod bundle_tests {
    /// A Handler naming no function stops the cold start at once, naming what it was given.
    #[tokio::test]
    async fn an_unknown_function_name_stops_the_cold_start_and_says_so() {
        let error = super::run_function("create-communities").await.expect_err("no such function");
        assert!(error.to_string().contains("no function is named \"create-communities\""), "{error}");
    }
}
