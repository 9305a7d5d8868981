//! The `revoke_user_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::revoke_user_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::REVOKE_USER_INVITATION).await
}
