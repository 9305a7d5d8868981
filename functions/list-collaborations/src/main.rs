//! The `list_collaborations` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::list_collaborations`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_COLLABORATIONS).await
}
