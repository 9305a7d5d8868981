//! The `create_community_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::create_community_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::CREATE_COMMUNITY_INVITATION).await
}
