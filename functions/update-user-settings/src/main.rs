//! The `update_user_settings` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::update_user_settings`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::UPDATE_USER_SETTINGS).await
}
