//! The `remove_community_tenant` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::remove_community_tenant`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::REMOVE_COMMUNITY_TENANT).await
}
