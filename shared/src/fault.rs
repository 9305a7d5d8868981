//! Telling a deployment's own fault from an outage, for every AWS call the service makes.
//!
//! A table, index or key that does not exist, a key that is disabled, a role that may not do what the code does,
//! or no credentials at all: none of these passes by retrying, so they must not be answered as a brief outage
//! (503 with `Retry-After`, which clients and Lambda's own retries obey for ever). They are answered as a 500 that
//! says the service is misconfigured, and logged at error level with the AWS error, so an operator sees what to
//! fix on the first request after a bad deploy.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// The AWS error codes that mean the deployment, not the moment, is wrong.
const CONFIGURATION_CODES: &[&str] = &[
    // DynamoDB: no such table or index.
    "ResourceNotFoundException",
    // IAM: the function's role lacks the action, or the key policy refuses it.
    "AccessDeniedException",
    "AccessDenied",
    // Credentials that no account knows.
    "UnrecognizedClientException",
    "InvalidClientTokenId",
    // KMS: no such key, disabled, pending deletion, or a key of the wrong kind.
    "NotFoundException",
    "DisabledException",
    "KMSInvalidStateException",
    "InvalidKeyUsageException",
];

/// Whether `error` is the deployment's fault: an AWS error code above, or no credentials to sign with.
pub fn is_misconfiguration<E, R>(error: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    if let Some(code) = error.as_service_error().and_then(ProvideErrorMetadata::code) {
        return CONFIGURATION_CODES.contains(&code);
    }
    // Without credentials the SDK fails before sending anything; its message is the only sign of why.
    matches!(error, SdkError::ConstructionFailure(_) | SdkError::DispatchFailure(_))
        && DisplayErrorContext(error).to_string().contains("credentials")
}

/// A failed AWS call, told apart, with the call and its error in words: what each adapter's error type is made
/// from (`From<Failure>`), so the telling is written once.
#[derive(Debug)]
pub enum Failure {
    /// The deployment's fault ([`is_misconfiguration`]): no retry helps.
    Misconfigured(String),
    /// An outage, or an answer a retry may mend.
    Outage(String),
}

/// `error` of the call `call` names (`KMS Encrypt`), told apart.
pub fn failure<E, R>(call: &str, error: &SdkError<E, R>) -> Failure
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let message = format!("{call} failed: {}", DisplayErrorContext(error));
    if is_misconfiguration(error) { Failure::Misconfigured(message) } else { Failure::Outage(message) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real SDK call on a client with no credentials fails before it is sent, and is the deployment's fault; one
    /// to a port nobody listens on is an outage.
    #[tokio::test]
    async fn no_credentials_is_a_misconfiguration_and_an_unreachable_endpoint_is_not() {
        let config = |credentials: bool| {
            let builder = aws_sdk_dynamodb::Config::builder()
                .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
                .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
                .endpoint_url("http://127.0.0.1:9");
            match credentials {
                true => builder.credentials_provider(aws_sdk_dynamodb::config::Credentials::for_tests()),
                false => builder,
            }
            .build()
        };
        let call = |credentials| async move {
            let client = aws_sdk_dynamodb::Client::from_conf(config(credentials));
            client.describe_table().table_name("t").send().await.expect_err("nothing answers")
        };
        let anonymous = call(false).await;
        assert!(is_misconfiguration(&anonymous), "{}", DisplayErrorContext(&anonymous));
        let unreachable = call(true).await;
        assert!(!is_misconfiguration(&unreachable), "{}", DisplayErrorContext(&unreachable));
    }
}
