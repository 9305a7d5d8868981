//! The `verify_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::verify_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::VERIFY_INVITATION).await
}
