//! The app in-process and the requests the bench sends it: the SDK client pointed at DynamoDB Local, an [`App`]
//! over it, a route called with an API Gateway event and its answer read, and the community the timed invocations
//! read. Kept apart from the measurements because every one of them (cold start, warm latency, costs) builds its
//! requests and its fixture from these.

use std::sync::Arc;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use rsvp::app::{App, Config};
use rsvp::routes::{self, Route};
use rsvp::store::dynamodb::DynamoStore;
use serde_json::{Value, json};

use crate::BENCH_TENANT_BUDGET;
use crate::counting::Counter;
use crate::events::{GUEST, OWNER, event};

/// A DynamoDB client of DynamoDB Local at `endpoint`, counting its requests into `counter` if one is given.
pub fn client(endpoint: &str, counter: Option<&Counter>) -> Client {
    let mut config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("bench", "bench", None, None, "rsvp-bench"));
    if let Some(counter) = counter {
        config = config.interceptor(counter.clone());
    }
    Client::from_conf(config.build())
}

/// The app over `table` through `client`, with the bench's mail budget.
pub fn app(client: Client, table: &str) -> Arc<App> {
    let mut config = Config::default();
    config.mail.per_tenant_per_day = BENCH_TENANT_BUDGET;
    Arc::new(App::new(Arc::new(DynamoStore::new(client, table)), config))
}

/// Runs `route` in-process; its status and JSON body.
pub async fn call(app: &Arc<App>, route: &Route, event: &Value) -> Result<(u16, Value), String> {
    let req = lambda_http::request::from_str(&event.to_string()).map_err(|e| format!("bad event: {e}"))?;
    let response = route.call(Arc::clone(app), req).await;
    let status = response.status().as_u16();
    let body = match response.body() {
        lambda_http::Body::Text(t) => serde_json::from_str(t).unwrap_or(Value::Null),
        lambda_http::Body::Binary(b) => serde_json::from_slice(b).unwrap_or(Value::Null),
        _ => Value::Null,
    };
    Ok((status, body))
}

/// Runs `route` in-process; its JSON body, or an error if it did not answer `status`.
pub async fn expect(app: &Arc<App>, route: &Route, event: &Value, status: u16) -> Result<Value, String> {
    let (got, body) = call(app, route, event).await?;
    if got != status {
        return Err(format!("{} answered {got} where {status} was expected: {body}", route.operation));
    }
    Ok(body)
}

pub fn id_of(body: &Value) -> Result<String, String> {
    body["Id"].as_str().map(str::to_owned).ok_or_else(|| format!("no Id in {body}"))
}

pub fn create_community(name: &str) -> Value {
    event(
        &routes::CREATE_COMMUNITY,
        &[],
        &[],
        Some(&json!({"Name": name, "ContactEmail": "ops@owner.example"})),
        &OWNER,
    )
}

pub fn create_invitation(community: &str, recipient: &str) -> Value {
    let body = json!({ "InvitationRecipient": recipient });
    event(&routes::CREATE_COMMUNITY_INVITATION, &[("communityId", community)], &[], Some(&body), &OWNER)
}

pub fn get_invitation(community: &str, invitation: &str) -> Value {
    event(
        &routes::GET_COMMUNITY_INVITATION,
        &[("communityId", community), ("invitationId", invitation)],
        &[],
        None,
        &OWNER,
    )
}

pub fn list_invitations(community: &str) -> Value {
    event(&routes::LIST_COMMUNITY_INVITATIONS, &[("communityId", community)], &[("count", "20")], None, &OWNER)
}

/// An address no invitation has gone to yet, so each timed create makes a new invitation.
pub fn unique_recipient(tag: &str) -> String {
    format!("{tag}-{}@guest.example", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The community the timed invocations read, with one invitation to get and a full first page to list.
pub struct Fixture {
    pub community: String,
    pub invitation: String,
}

pub async fn fixture(app: &Arc<App>) -> Result<Fixture, String> {
    let community = id_of(&expect(app, &routes::CREATE_COMMUNITY, &create_community("Bench Community"), 201).await?)?;
    let invitation = id_of(
        &expect(app, &routes::CREATE_COMMUNITY_INVITATION, &create_invitation(&community, GUEST.email), 201).await?,
    )?;
    for n in 0..30 {
        let e = create_invitation(&community, &format!("seed-{n}@guest.example"));
        expect(app, &routes::CREATE_COMMUNITY_INVITATION, &e, 201).await?;
    }
    Ok(Fixture { community, invitation })
}
