//! The `portal_not_found` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::portal_not_found`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::PORTAL_NOT_FOUND).await
}
