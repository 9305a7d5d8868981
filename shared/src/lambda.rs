//! The Lambda entry point every function's `main` calls: set up logging, configuration, SDK clients and the store
//! once per cold start, then serve one route.

use std::convert::Infallible;
use std::sync::Arc;

use lambda_http::{Error, service_fn};

use crate::app::{App, Config};
use crate::routes::Route;
use crate::store::dynamodb::DynamoStore;

/// Runs `route` as this Lambda function's only operation.
///
/// Reads `RSVP_TABLE_NAME` (the DynamoDB table) and everything [`Config::from_env`] reads; a missing or invalid
/// setting stops the cold start with a message rather than failing every request.
pub async fn run(route: &'static Route) -> Result<(), Error> {
    init_tracing();
    let config = Config::from_env()?;
    let table = std::env::var("RSVP_TABLE_NAME").map_err(|_| "RSVP_TABLE_NAME is not set")?;
    let aws = aws_config::load_from_env().await;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&aws), table);
    let app = Arc::new(App::new(Arc::new(store), config));
    lambda_http::run(service_fn(move |req| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Infallible>(route.call(app, req).await) }
    }))
    .await
}

/// Plain text lines without colour or timestamps: CloudWatch adds its own. `RUST_LOG` filters (default `info`).
pub fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    let _ =
        tracing_subscriber::fmt().with_env_filter(filter).with_ansi(false).without_time().with_target(false).try_init();
}
