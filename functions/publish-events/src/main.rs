//! The `publish_events` Lambda function, fed by the table's DynamoDB stream. It only wires the entry point; the
//! consumer is `rsvp::publish`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rsvp::lambda::run_publish_events().await
}
