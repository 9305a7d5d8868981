//! The `remove_participant` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::remove_participant`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::REMOVE_PARTICIPANT).await
}
