//! The `invite_users` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::invite_users`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::INVITE_USERS).await
}
