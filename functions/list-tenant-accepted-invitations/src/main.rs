//! The `list_tenant_accepted_invitations` Lambda function. It only wires the route;
//! the operation is `rsvp::ops::communities::list_tenant_accepted_invitations`.

#[tokio::main]
async fn main() -> Result<(), lambda_http::Error> {
    rsvp::lambda::run(&rsvp::routes::LIST_TENANT_ACCEPTED_INVITATIONS).await
}
