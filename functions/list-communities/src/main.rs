//! The `list_communities` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::list_communities`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_COMMUNITIES).await
}
