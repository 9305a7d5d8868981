//! The `get_collaboration` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::portal::get_collaboration`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::GET_COLLABORATION).await
}
