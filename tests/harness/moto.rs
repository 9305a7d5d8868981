//! Clients of moto, the stand-in for SES, KMS, EventBridge and SQS that `scripts/test` starts (and names in
//! [`VARIABLE`]). moto's state is shared by every test: each test uses addresses, keys, buses and queues of its own.

use std::time::Duration;

/// The environment variable that holds moto's URL; `scripts/test` sets it.
pub const VARIABLE: &str = "RSVP_TEST_MOTO_ENDPOINT";

/// moto's URL.
///
/// # Panics
/// If [`VARIABLE`] is not set: the tests need moto, and `scripts/test` is what starts it.
pub fn endpoint() -> String {
    std::env::var(VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{VARIABLE} is not set: these tests need moto (SES, KMS, EventBridge, SQS). Run them with `scripts/test`."
        )
    })
}

/// An SES client for `endpoint` (moto's, or one where nothing answers): a dead endpoint fails the send at once
/// rather than after the SDK's back-off.
pub fn ses_at(endpoint: &str) -> aws_sdk_ses::Client {
    let config = crate::aws_config!(aws_sdk_ses, endpoint, "testing")
        .retry_config(aws_sdk_ses::config::retry::RetryConfig::disabled())
        .timeout_config(
            aws_sdk_ses::config::timeout::TimeoutConfig::builder().operation_timeout(Duration::from_secs(10)).build(),
        )
        .build();
    aws_sdk_ses::Client::from_conf(config)
}

pub fn kms() -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::from_conf(crate::aws_config!(aws_sdk_kms, endpoint(), "testing").build())
}

pub fn eventbridge() -> aws_sdk_eventbridge::Client {
    aws_sdk_eventbridge::Client::from_conf(crate::aws_config!(aws_sdk_eventbridge, endpoint(), "testing").build())
}

pub fn sqs() -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::from_conf(crate::aws_config!(aws_sdk_sqs, endpoint(), "testing").build())
}

/// An SES client for moto.
pub fn ses() -> aws_sdk_ses::Client {
    ses_at(&endpoint())
}
