//! The `list_collaboration_invitations` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::list_collaboration_invitations`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_COLLABORATION_INVITATIONS).await
}
