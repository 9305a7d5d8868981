//! The `get_portal_user` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::get_portal_user`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_PORTAL_USER).await
}
