//! The `record_mail_fate` Lambda function, fed by an EventBridge rule with SES's records of the messages rsvp sent.
//! It only wires the entry point; the recorder is `rsvp::mail::fate`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rsvp::lambda::run_record_mail_fate().await
}
