//! The `accept_user_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::accept_user_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::ACCEPT_USER_INVITATION).await
}
