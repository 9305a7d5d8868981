//! The `get_community_invitation` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::get_community_invitation`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_COMMUNITY_INVITATION).await
}
