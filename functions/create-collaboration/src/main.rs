//! The `create_collaboration` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::create_collaboration`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::CREATE_COLLABORATION).await
}
