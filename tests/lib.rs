//! Support code for rsvp's black-box tests: the DynamoDB Local connection, small fixture builders, and the harness
//! of the HTTP tests ([`harness`]: [`TestApp`], a running local server, and its [`Answer`]s).
//!
//! Every test binary of this package links this library as `rsvp_tests`:
//!
//! | binary | what it tests |
//! |---|---|
//! | `api` (`tests/api/`) | the HTTP API through a running local server, a module per suite: the Communities API, the platform users API, the portals, the landing page (also in chromium), the authorization matrix, hardening (outages, the log, races, the mail budgets) |
//! | `store_contract` (`tests/store_contract/`) | every store port against memory, SQLite and DynamoDB Local |
//! | `email` (`tests/email/`) | the emails: the outbox consumer over DynamoDB Local's stream with moto's KMS and SES, the local mailer, killed senders and the sweep |
//! | `published_events` | the events publisher onto moto's EventBridge, and SES's later records of a message |
//! | `embedded_store` | the SQLite file under `kill -9`, its import and its file modes |
//! | `authorizer` | the portal routes' Lambda authorizer against a key server |
//! | `events`, `openapi`, `template`, `signing` | the sample events, the API description, the SAM template, KMS signatures |
//!
//! Run them through `scripts/test`, which starts DynamoDB Local and exports [`ENDPOINT_VARIABLE`] (and moto, and
//! chromium for the browser tests); a test that needs DynamoDB and does not find it fails, it is never skipped.
//!
//! ```no_run
//! use rsvp::store::CommunityStore as _;
//! use rsvp_tests::{admin, community, fresh_dynamo_store, T0};
//!
//! # async fn example() {
//! let store = fresh_dynamo_store().await; // an empty table of its own
//! let owner = admin("acme");
//! let (c, membership) = community(&owner, "Shared Ops", T0);
//! store.create_community(&c, &membership).await.unwrap();
//! # }
//! ```
//!
//! Fixtures are deterministic where it matters (tenants, emails, times) and random where it must be (ids, secrets),
//! so tests that share a table or run in parallel never collide.

pub mod harness;

pub use harness::{Answer, TestApp};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue, Record, ShardIteratorType};
use base64::Engine as _;
use rsvp::domain::{
    Actor, Community, CommunityInput, CommunityInvitation, Email, FixedClock, InvitationPolicy, Membership, Principal,
    Role, Secret, TenantId, Timestamp, UserId,
};
use rsvp::store::Store;
use rsvp::store::dynamodb::DynamoStore;
use rsvp::store::memory::MemoryStore;
use rsvp::store::sqlite::SqliteStore;
use rsvp::store::{Cursor, PageRequest};
use serde_json::{Value, json};

/// The environment variable that holds DynamoDB Local's URL, e.g. `http://127.0.0.1:8000`. `scripts/test` sets it.
pub const ENDPOINT_VARIABLE: &str = "RSVP_TEST_DYNAMODB_ENDPOINT";

/// A fixed instant (2023-11-14T22:13:20Z) that tests start their clocks from.
pub const T0: Timestamp = Timestamp::from_millis(1_700_000_000_000);

/// A client for the DynamoDB Local instance at [`ENDPOINT_VARIABLE`], with fake static credentials in us-east-1.
///
/// # Panics
/// If the variable is not set: the tests need DynamoDB Local, and `scripts/test` is what starts it.
pub async fn dynamodb() -> aws_sdk_dynamodb::Client {
    let config = crate::aws_config!(aws_sdk_dynamodb, dynamodb_endpoint(), "local")
        // A stuck DynamoDB Local fails the test instead of hanging the run.
        .timeout_config(TimeoutConfig::builder().operation_timeout(Duration::from_secs(30)).build())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// DynamoDB Local's URL, from [`ENDPOINT_VARIABLE`].
///
/// # Panics
/// If the variable is not set (see [`dynamodb`]).
pub fn dynamodb_endpoint() -> String {
    std::env::var(ENDPOINT_VARIABLE).unwrap_or_else(|_| {
        panic!(
            "{ENDPOINT_VARIABLE} is not set: these tests need DynamoDB Local. Run them with `scripts/test` \
             (e.g. `scripts/test -p rsvp-tests --test store_contract`), which starts it and sets the variable."
        )
    })
}

/// The configuration builder of an AWS SDK client (`$sdk`: `aws_sdk_kms`, say) for a local stand-in at
/// `$endpoint`: us-east-1, and the static credentials `$key`/`$key` that DynamoDB Local and moto take.
#[macro_export]
macro_rules! aws_config {
    ($sdk:ident, $endpoint:expr, $key:literal) => {
        $sdk::Config::builder()
            .behavior_version($sdk::config::BehaviorVersion::latest())
            .region($sdk::config::Region::new("us-east-1"))
            .endpoint_url($endpoint)
            .credentials_provider($sdk::config::Credentials::new($key, $key, None, None, "rsvp-tests"))
    };
}

/// A new embedded (memory) store, as a running server's.
pub fn memory_store() -> std::sync::Arc<dyn Store> {
    std::sync::Arc::new(MemoryStore::new())
}

/// A [`fresh_dynamo_store`], as a running server's.
pub async fn dynamo_store() -> std::sync::Arc<dyn Store> {
    std::sync::Arc::new(fresh_dynamo_store().await)
}

/// A port on loopback where nothing listens: a URL that cannot be reached.
pub fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a port");
    listener.local_addr().expect("its address").port()
}

/// A [`DynamoStore`] over a new, empty table with a unique name, created as `template.yaml` declares it.
///
/// Each call makes its own table, so tests never see each other's items. Tables live until DynamoDB Local stops.
///
/// # Panics
/// If DynamoDB Local is not configured (see [`dynamodb`]) or refuses to create the table.
pub async fn fresh_dynamo_store() -> DynamoStore {
    let client = dynamodb().await;
    let table = format!("rsvp-test-{}", uuid::Uuid::new_v4().simple());
    if let Err(e) = DynamoStore::create_table(&client, &table).await {
        let endpoint = dynamodb_endpoint();
        panic!("creating table {table} in DynamoDB Local at {endpoint} failed: {e}");
    }
    DynamoStore::new(client, table)
}

/// A [`SqliteStore`] on a new file in a new temporary folder, removed with the folder when dropped.
///
/// # Panics
/// If the folder or the database cannot be made.
pub fn fresh_sqlite_store() -> TempSqlite {
    let dir = temp_dir("rsvp-sqlite");
    let store = SqliteStore::open(&dir.join("rsvp.db")).unwrap_or_else(|e| panic!("opening {}: {e}", dir.display()));
    TempSqlite { store, dir }
}

/// A new, empty folder of its own under the system's temporary folder, named `<prefix>-<random>`.
///
/// # Panics
/// If it cannot be made.
pub fn temp_dir(prefix: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    dir
}

/// A [`SqliteStore`] and the temporary folder of its file, which goes when this is dropped.
pub struct TempSqlite {
    store: SqliteStore,
    dir: PathBuf,
}

impl TempSqlite {
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl std::ops::Deref for TempSqlite {
    type Target = SqliteStore;

    fn deref(&self) -> &SqliteStore {
        &self.store
    }
}

impl Drop for TempSqlite {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The real present, for tests whose items live in DynamoDB Local longer than a moment: its TTL sweeper deletes,
/// in real time, items whose `ttl` has passed, so a clock years in the past (as [`T0`]) would have a server's items
/// vanish under a test that runs a while. Tests that start their clock here compare times relative to it.
pub fn present() -> Timestamp {
    use rsvp::domain::Clock as _;
    rsvp::domain::SystemClock.now()
}

/// A clock standing at [`T0`]; move it with `advance_minutes` / `advance_millis`.
pub fn clock() -> FixedClock {
    FixedClock::at(T0)
}

/// A tenant id; panics if `value` is not a valid one (fixtures use plain names such as `"acme"`).
pub fn tenant(value: &str) -> TenantId {
    TenantId::parse("tenant", value).expect("a valid tenant id in a fixture")
}

/// An email address; panics if `value` is not a valid one.
pub fn email(value: &str) -> Email {
    Email::parse(value).expect("a valid email address in a fixture")
}

/// A signed-in user of `tenant` with a verified `email`, the tenant name `"<tenant> Inc"` and these roles.
pub fn principal(tenant_id: &str, email_address: &str, roles: &[Role]) -> Principal {
    Principal {
        user: UserId::parse("sub", &format!("user-{email_address}")).expect("a valid user id in a fixture"),
        tenant: tenant(tenant_id),
        email: Some(email(email_address)),
        tenant_name: Some(format!("{tenant_id} Inc")),
        roles: roles.to_vec(),
    }
}

/// The TenantAdministrator of `tenant_id`, whose verified address is `admin@<tenant_id>.example.com`.
pub fn admin(tenant_id: &str) -> Principal {
    principal(tenant_id, &format!("admin@{tenant_id}.example.com"), &[Role::TenantAdministrator])
}

/// A plain TenantMember of `tenant_id`, whose verified address is `member@<tenant_id>.example.com`.
pub fn member(tenant_id: &str) -> Principal {
    principal(tenant_id, &format!("member@{tenant_id}.example.com"), &[Role::TenantMember])
}

/// A new community named `name`, owned by `owner`'s tenant and created at `now`, with the owner's (Active)
/// membership. Write both with `Store::create_community`.
pub fn community(owner: &Principal, name: &str, now: Timestamp) -> (Community, Membership) {
    let input =
        CommunityInput::new(name, Some("A community made by a test."), None).expect("a valid community in a fixture");
    Community::create(input, owner.tenant.clone(), now)
}

/// A new invitation to `community` for `recipient`, issued by `by` at `now` under the default policy (valid for
/// 14 days), with the secret that was sent. Write it with `Store::create_invitation`.
pub fn invitation(
    community: &Community,
    recipient: &str,
    by: &Principal,
    now: Timestamp,
) -> (CommunityInvitation, Secret) {
    CommunityInvitation::create(community, email(recipient), by, now, InvitationPolicy::default())
}

/// `who` acting as the invitation's recipient (for Accept and Decline before acceptance).
pub fn as_recipient(who: &Principal) -> Actor<'_> {
    Actor { principal: Some(who), is_recipient: true, is_community_admin: false }
}

/// `who` acting as an administrator of the community (for Confirm, Decline after acceptance, Resend, Delete).
pub fn as_community_admin(who: &Principal) -> Actor<'_> {
    Actor { principal: Some(who), is_recipient: false, is_community_admin: true }
}

/// The environment variable naming the file [`figure`] appends to; `scripts/test` sets it, and prints the file.
pub const FIGURES_VARIABLE: &str = "RSVP_TEST_FIGURES";

/// Records a figure of the run (a race run, a matrix checked) for the test command to print at its end: one line
/// `<topic>: <text>` appended to the file [`FIGURES_VARIABLE`] names (nothing, when it is not set). Tests print
/// nothing themselves: cargo hides a passing test's output.
pub fn figure(topic: &str, text: &str) {
    use std::io::Write as _;
    let Ok(file) = std::env::var(FIGURES_VARIABLE) else { return };
    if let Ok(mut out) = std::fs::OpenOptions::new().create(true).append(true).open(file) {
        let _ = writeln!(out, "{topic}: {text}");
    }
}

/// Runs each named scenario against both stores: `embedded_store::<name>` with `memory().await` and
/// `dynamodb_local::<name>` with `dynamodb().await`, two functions the calling module defines (each gives the
/// scenario its argument: a running server over that store, say). Both run on a multi-threaded runtime, as the
/// servers they start do.
#[macro_export]
macro_rules! against_both_stores {
    ($($scenario:ident),* $(,)?) => {
        mod embedded_store {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() { super::$scenario(super::memory().await).await; })*
        }
        mod dynamodb_local {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $scenario() { super::$scenario(super::dynamodb().await).await; })*
        }
    };
}

/// The first page of `count` items.
pub fn first_page(count: u32) -> PageRequest {
    PageRequest { skip: 0, count, after: None }
}

/// The page of `count` items after `cursor`.
pub fn page_after(cursor: &Cursor, count: u32) -> PageRequest {
    PageRequest { skip: 0, count, after: Some(cursor.clone()) }
}

/// Reading what the local outbox mailer writes: one `.eml` file per message.
pub mod eml {
    use std::path::{Path, PathBuf};
    use std::time::Duration;

    use base64::Engine as _;

    /// A fresh folder under the system's temporary directory, for an outbox or a data dir.
    pub fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("rsvp-mail-test-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("a temporary folder");
        dir
    }

    /// The `.eml` files in `dir`, oldest name first, waiting up to ten seconds for at least `count`
    /// (the local mailer sends in the background).
    pub async fn messages(dir: &Path, count: usize) -> Vec<String> {
        for _ in 0..100 {
            let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
                .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            files.retain(|p| p.extension().is_some_and(|e| e == "eml"));
            if files.len() >= count {
                files.sort();
                return files.iter().map(|f| std::fs::read_to_string(f).expect("a readable .eml")).collect();
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("fewer than {count} messages arrived in {}", dir.display());
    }

    /// The decoded text/plain part of an `.eml`.
    pub fn text_part(eml: &str) -> String {
        part(eml, "text/plain")
    }

    /// The decoded text/html part of an `.eml`.
    pub fn html_part(eml: &str) -> String {
        part(eml, "text/html")
    }

    fn part(eml: &str, kind: &str) -> String {
        let part = eml.split(&format!("Content-Type: {kind}")).nth(1).unwrap_or_else(|| panic!("a {kind} part"));
        let body = part.split("\r\n\r\n").nth(1).expect("a part body");
        let encoded: String = body.lines().take_while(|l| !l.starts_with("--")).collect();
        String::from_utf8(base64::engine::general_purpose::STANDARD.decode(encoded).expect("base64")).expect("UTF-8")
    }

    /// Header `name` with its RFC 2047 encoded words (`=?UTF-8?B?…?=`) decoded, as a mail client shows it.
    pub fn decoded_header(eml: &str, name: &str) -> String {
        header(eml, name)
            .split(' ')
            .map(|word| match word.strip_prefix("=?UTF-8?B?").and_then(|w| w.strip_suffix("?=")) {
                Some(b64) => String::from_utf8(base64::engine::general_purpose::STANDARD.decode(b64).expect("base64"))
                    .expect("UTF-8"),
                None => word.to_owned(),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The value of header `name`, or "" when there is none.
    pub fn header<'a>(eml: &'a str, name: &str) -> &'a str {
        eml.lines().find_map(|l| l.strip_prefix(&format!("{name}: "))).unwrap_or_default()
    }

    /// The first line of the text part that starts with `prefix`: the link an email carries.
    pub fn link(eml: &str, prefix: &str) -> String {
        text_part(eml)
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix}… link in {eml}"))
            .to_owned()
    }
}

/// Every record of the table's stream so far, shaped as Lambda hands them to the consumer.
pub async fn stream_records(table: &str) -> Vec<Value> {
    let arn = dynamodb()
        .await
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("DescribeTable")
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let streams = aws_sdk_dynamodbstreams::Client::from_conf(
        crate::aws_config!(aws_sdk_dynamodbstreams, dynamodb_endpoint(), "local").build(),
    );
    let description = streams.describe_stream().stream_arn(&arn).send().await.expect("DescribeStream");
    let mut out = Vec::new();
    for shard in description.stream_description().map(|d| d.shards()).unwrap_or_default() {
        let mut iterator = streams
            .get_shard_iterator()
            .stream_arn(&arn)
            .shard_id(shard.shard_id().unwrap_or_default())
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("GetShardIterator")
            .shard_iterator;
        // An open shard always hands out a next iterator; a read that returns nothing means "caught up".
        while let Some(current) = iterator.take() {
            let page = streams.get_records().shard_iterator(current).send().await.expect("GetRecords");
            if page.records().is_empty() {
                break;
            }
            out.extend(page.records().iter().map(lambda_record));
            iterator = page.next_shard_iterator;
        }
    }
    out
}

fn attribute(value: &AttributeValue) -> Value {
    let map = |m: &HashMap<String, AttributeValue>| -> Value {
        m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect::<serde_json::Map<_, _>>().into()
    };
    match value {
        AttributeValue::S(s) => json!({ "S": s }),
        AttributeValue::N(n) => json!({ "N": n }),
        AttributeValue::Bool(b) => json!({ "BOOL": b }),
        AttributeValue::Null(_) => json!({ "NULL": true }),
        AttributeValue::M(m) => json!({ "M": map(m) }),
        AttributeValue::L(l) => json!({ "L": l.iter().map(attribute).collect::<Vec<_>>() }),
        AttributeValue::Ss(ss) => json!({ "SS": ss }),
        AttributeValue::Ns(ns) => json!({ "NS": ns }),
        AttributeValue::B(b) => json!({ "B": base64::engine::general_purpose::STANDARD.encode(b.as_ref()) }),
        other => panic!("an attribute type rsvp does not write: {other:?}"),
    }
}

/// A DynamoDB Streams record as the Lambda event source mapping passes it on.
pub fn lambda_record(record: &Record) -> Value {
    let change = record.dynamodb().expect("a stream record carries its change");
    let image = |i: Option<&HashMap<String, AttributeValue>>| -> Value {
        i.map_or(Value::Null, |m| m.iter().map(|(k, v)| (k.clone(), attribute(v))).collect())
    };
    json!({
        "eventID": record.event_id(),
        "eventName": record.event_name().map(|n| n.as_str()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/rsvp/stream/test",
        "dynamodb": {
            "Keys": image(change.keys()),
            "NewImage": image(change.new_image()),
            "OldImage": image(change.old_image()),
            "ApproximateCreationDateTime": change.approximate_creation_date_time().map(|t| t.secs()),
            "SequenceNumber": change.sequence_number(),
            "SizeBytes": change.size_bytes().unwrap_or_default(),
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    })
}
