//! The `sweep_deliveries` Lambda function, run by an EventBridge schedule. It only wires the entry point; the sweep
//! is `rsvp::mail::sweep`.

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    rsvp::lambda::run_sweep_deliveries().await
}
