//! The `remove_participation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::remove_participation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::REMOVE_PARTICIPATION).await
}
