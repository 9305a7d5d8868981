//! The `list_community_tenants` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::list_community_tenants`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_COMMUNITY_TENANTS).await
}
