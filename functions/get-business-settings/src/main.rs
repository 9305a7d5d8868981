//! The `get_business_settings` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::users::get_business_settings`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_BUSINESS_SETTINGS).await
}
