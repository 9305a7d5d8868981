//! The `invalidate_collaboration_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::invalidate_collaboration_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::INVALIDATE_COLLABORATION_INVITATION).await
}
