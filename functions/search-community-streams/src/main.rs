//! The `search_community_streams` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::search_community_streams`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::SEARCH_COMMUNITY_STREAMS).await
}
