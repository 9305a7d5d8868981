//! The `list_user_invitations` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::list_user_invitations`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_USER_INVITATIONS).await
}
