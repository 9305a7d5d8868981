//! The `deliver_emails` Lambda function, fed by the table's DynamoDB stream. It only wires the entry point; the
//! consumer is `rsvp::mail::deliver`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rsvp::lambda::run_deliver_emails().await
}
