//! The `create_community` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::create_community`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::CREATE_COMMUNITY).await
}
