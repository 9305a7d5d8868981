//! The `get_participant` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::get_participant`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_PARTICIPANT).await
}
