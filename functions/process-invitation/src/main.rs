//! The `process_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::process_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::PROCESS_INVITATION).await
}
