//! `rsvp-bench`: measures rsvp's Lambda functions as Lambda runs them and writes `BENCHMARKS.md`.
//!
//! Run it through `scripts/bench`, which builds the release binaries, installs what the Python comparison needs,
//! starts DynamoDB Local and passes its endpoint here. What it measures, each against DynamoDB Local:
//!
//! - cold start: a release function binary spawned against a Runtime API served here ([`runtime_api`]), from the
//!   spawn to its first answer posted, and the same for a Python boto3 function;
//! - warm latency: thousands of invocations through one warm process, beside the same DynamoDB calls made directly;
//! - DynamoDB requests and consumed capacity of every operation, in-process through a counting client
//!   ([`counting`]), and of a list page as the table grows;
//! - binary sizes and the peak RSS of a function process.

mod counting;
mod events;
mod runtime_api;
mod stats;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{ExitCode, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::types::{
    AttributeValue, KeysAndAttributes, Put, PutRequest, TransactWriteItem, Update, WriteRequest,
};
use rsvp::app::{App, Config};
use rsvp::domain::{InvitationId, MailItem};
use rsvp::mail::deliver::{Delivered, Deliverer};
use rsvp::mail::{MailError, Mailer, Message};
use rsvp::routes::{self, Route};
use rsvp::store::dynamodb::DynamoStore;
use serde_json::{Value, json};

use counting::{Counter, Tally};
use events::{Caller, GUEST, OWNER, event};
use runtime_api::{Outcome, RuntimeApi};
use stats::{Summary, ms, ratio};

const GET: &str = "get-community-invitation";
const CREATE: &str = "create-community-invitation";
const LIST: &str = "list-community-invitations";
const TIMEOUT: Duration = Duration::from_secs(30);

type Item = HashMap<String, AttributeValue>;

/// Command-line settings; `scripts/bench` passes them all.
#[derive(Debug, Clone, PartialEq)]
struct Args {
    endpoint: String,
    out: PathBuf,
    bin_dir: PathBuf,
    lambda_dir: Option<PathBuf>,
    python: Option<PathBuf>,
    python_script: PathBuf,
    spawns: usize,
    warm: usize,
    sizes: Vec<usize>,
    command: String,
    date: String,
    notes: Vec<String>,
    /// Extra `NAME=VALUE` settings for the function processes (e.g. `RUST_LOG=warn`), for experiments.
    function_env: Vec<(String, String)>,
    /// Only the requests and capacity of each operation, printed (no report written): quick to rerun while
    /// changing the DynamoDB adapter.
    costs_only: bool,
}

const USAGE: &str = "usage: rsvp-bench --endpoint URL [--out FILE] [--bin-dir DIR] [--lambda-dir DIR] \
[--python EXE] [--python-script FILE] [--spawns N] [--warm N] [--sizes N,N,...] [--command TEXT] [--date TEXT] \
[--note TEXT]... [--function-env NAME=VALUE]... [--costs-only]";

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args {
        endpoint: String::new(),
        out: "BENCHMARKS.md".into(),
        bin_dir: "target/release".into(),
        lambda_dir: None,
        python: None,
        python_script: "bench/python/bootstrap.py".into(),
        spawns: 20,
        warm: 2000,
        sizes: vec![100, 10_000, 100_000],
        command: "scripts/bench".into(),
        date: String::new(),
        notes: Vec::new(),
        function_env: Vec::new(),
        costs_only: false,
    };
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        let number = |v: String| v.parse::<usize>().map_err(|_| format!("{flag}: not a number: {v}"));
        match flag.as_str() {
            "--endpoint" => a.endpoint = value()?,
            "--out" => a.out = value()?.into(),
            "--bin-dir" => a.bin_dir = value()?.into(),
            "--lambda-dir" => a.lambda_dir = Some(value()?.into()),
            "--python" => a.python = Some(value()?.into()),
            "--python-script" => a.python_script = value()?.into(),
            "--spawns" => a.spawns = number(value()?)?.max(1),
            "--warm" => a.warm = number(value()?)?.max(1),
            "--sizes" => {
                a.sizes = value()?.split(',').map(|v| number(v.to_owned())).collect::<Result<_, _>>()?;
                a.sizes.sort_unstable();
            }
            "--command" => a.command = value()?,
            "--date" => a.date = value()?,
            "--costs-only" => a.costs_only = true,
            "--note" => a.notes.push(value()?),
            "--function-env" => {
                let setting = value()?;
                let (name, v) = setting.split_once('=').ok_or_else(|| format!("{flag}: expected NAME=VALUE"))?;
                a.function_env.push((name.to_owned(), v.to_owned()));
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.endpoint.is_empty() {
        return Err(format!("--endpoint is required\n{USAGE}"));
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    match parse_args(std::env::args().skip(1)) {
        Err(e) => {
            eprintln!("rsvp-bench: {e}");
            ExitCode::from(2)
        }
        Ok(args) => match run(&args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("rsvp-bench: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

fn say(text: &str) {
    eprintln!("rsvp-bench: {text}");
}

fn client(endpoint: &str, counter: Option<&Counter>) -> Client {
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

fn app(client: Client, table: &str) -> Arc<App> {
    let mut config = Config::default();
    config.mail.per_tenant_per_day = BENCH_TENANT_BUDGET;
    Arc::new(App::new(Arc::new(DynamoStore::new(client, table)), config))
}

/// Runs `route` in-process; its status and JSON body.
async fn call(app: &Arc<App>, route: &Route, event: &Value) -> Result<(u16, Value), String> {
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

async fn expect(app: &Arc<App>, route: &Route, event: &Value, status: u16) -> Result<Value, String> {
    let (got, body) = call(app, route, event).await?;
    if got != status {
        return Err(format!("{} answered {got} where {status} was expected: {body}", route.operation));
    }
    Ok(body)
}

fn id_of(body: &Value) -> Result<String, String> {
    body["Id"].as_str().map(str::to_owned).ok_or_else(|| format!("no Id in {body}"))
}

fn create_community(name: &str) -> Value {
    event(
        &routes::CREATE_COMMUNITY,
        &[],
        &[],
        Some(&json!({"Name": name, "ContactEmail": "ops@owner.example"})),
        &OWNER,
    )
}

fn create_invitation(community: &str, recipient: &str) -> Value {
    let body = json!({ "InvitationRecipient": recipient });
    event(&routes::CREATE_COMMUNITY_INVITATION, &[("communityId", community)], &[], Some(&body), &OWNER)
}

fn get_invitation(community: &str, invitation: &str) -> Value {
    event(
        &routes::GET_COMMUNITY_INVITATION,
        &[("communityId", community), ("invitationId", invitation)],
        &[],
        None,
        &OWNER,
    )
}

fn list_invitations(community: &str) -> Value {
    event(&routes::LIST_COMMUNITY_INVITATIONS, &[("communityId", community)], &[("count", "20")], None, &OWNER)
}

fn unique_recipient(tag: &str) -> String {
    format!("{tag}-{}@guest.example", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// The community the timed invocations read, with one invitation to get and a full first page to list.
struct Fixture {
    community: String,
    invitation: String,
}

async fn fixture(app: &Arc<App>) -> Result<Fixture, String> {
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

/// What Lambda puts in a function's environment, pointed at the bench's Runtime API and DynamoDB Local.
/// The daily per-tenant email budget the timed functions and the in-process app run with: the warm create loop and
/// the tables the bench fills send far more than the default 500 a day from one tenant.
const BENCH_TENANT_BUDGET: u32 = 1_000_000;

fn lambda_env(function: &str, runtime_api: &str, endpoint: &str, table: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", runtime_api),
        ("AWS_LAMBDA_FUNCTION_NAME", function),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST"),
        ("AWS_LAMBDA_LOG_GROUP_NAME", &format!("/aws/lambda/{function}")),
        ("AWS_LAMBDA_LOG_STREAM_NAME", "2026/01/01/[$LATEST]bench"),
        ("AWS_LAMBDA_INITIALIZATION_TYPE", "on-demand"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_DEFAULT_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "bench"),
        ("AWS_SECRET_ACCESS_KEY", "bench"),
        ("AWS_SESSION_TOKEN", "bench"),
        ("AWS_ENDPOINT_URL_DYNAMODB", endpoint),
        ("AWS_ENDPOINT_URL", endpoint),
        ("RSVP_TABLE_NAME", table),
        // The warm create loop sends thousands of invitations from one tenant in a day; the default budget (500)
        // would answer 429 long before it ends. Every create still reserves from the budget, so its cost is timed.
        ("RSVP_EMAILS_PER_TENANT_PER_DAY", &BENCH_TENANT_BUDGET.to_string()),
        ("TZ", ":UTC"),
        ("LANG", "en_US.UTF-8"),
        ("PATH", "/usr/local/bin:/usr/bin:/bin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

/// A function to run: a program, its arguments, and where its log goes.
#[derive(Clone)]
struct Function {
    name: &'static str,
    program: PathBuf,
    args: Vec<PathBuf>,
    /// Environment of this function's own, beside Lambda's: the bundle's `_HANDLER` (its Handler in the template).
    env: Vec<(String, String)>,
}

impl Function {
    fn spawn(&self, api: &RuntimeApi, ctx: &Ctx) -> Result<(tokio::process::Child, PathBuf), String> {
        let log = std::env::temp_dir().join(format!("rsvp-bench-{}-{}.log", self.name, uuid::Uuid::new_v4().simple()));
        let file = std::fs::File::create(&log).map_err(|e| format!("creating a log file: {e}"))?;
        let file2 = file.try_clone().map_err(|e| e.to_string())?;
        let child = tokio::process::Command::new(&self.program)
            .args(&self.args)
            .env_clear()
            .envs(lambda_env(self.name, &api.address(), &ctx.endpoint, &ctx.table))
            .envs(ctx.extra_env.iter().cloned())
            .envs(self.env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::from(file))
            .stderr(Stdio::from(file2))
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", self.program.display()))?;
        Ok((child, log))
    }
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

struct Ctx {
    endpoint: String,
    table: String,
    extra_env: Vec<(String, String)>,
}

fn check(response: &[u8], status: u16) -> Result<(), String> {
    let (got, body) = events::answer(response)?;
    if got == status { Ok(()) } else { Err(format!("answered {got} where {status} was expected: {body}")) }
}

/// `n` cold starts of `f` (after one unrecorded start that loads the program into the page cache): from the spawn
/// to the first answer posted, with the event already waiting as it is for an on-demand cold start.
async fn cold_starts(
    f: &Function,
    ctx: &Ctx,
    n: usize,
    event: impl Fn(usize) -> Value,
    status: u16,
) -> Result<Vec<Duration>, String> {
    let mut samples = Vec::with_capacity(n);
    for i in 0..=n {
        let mut api = RuntimeApi::start(f.name).await.map_err(|e| e.to_string())?;
        let id = api.enqueue(&event(i));
        let start = Instant::now();
        let (mut child, log) = f.spawn(&api, ctx)?;
        let outcome = api.outcome(TIMEOUT).await;
        let _ = child.kill().await;
        let result = match outcome {
            Ok(Outcome::Response { id: got, body, at }) if got == id => check(&body, status).map(|()| at - start),
            Ok(other) => Err(format!("unexpected outcome: {}", other.describe())),
            Err(e) => Err(e),
        };
        let result = result.map_err(|e| format!("{} cold start {i}: {e}\n{}", f.name, log_tail(&log)));
        let _ = std::fs::remove_file(&log);
        let elapsed = result?;
        if i > 0 {
            samples.push(elapsed);
        }
    }
    Ok(samples)
}

struct Warm {
    function: Vec<Duration>,
    raw: Vec<Duration>,
    peak_rss_kib: Option<u64>,
}

fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// `n` invocations through one warm process of `f`, each followed by the raw DynamoDB call(s) it stands for, so
/// both series see DynamoDB Local in the same state. The first (cold) invocation is not recorded.
async fn warm(
    f: &Function,
    ctx: &Ctx,
    n: usize,
    event: impl Fn(usize) -> Value,
    status: u16,
    mut raw: impl AsyncFnMut(usize) -> Result<(), String>,
) -> Result<Warm, String> {
    let mut api = RuntimeApi::start(f.name).await.map_err(|e| e.to_string())?;
    let (mut child, log) = f.spawn(&api, ctx)?;
    let pid = child.id();
    let mut result = Warm { function: Vec::with_capacity(n), raw: Vec::with_capacity(n), peak_rss_kib: None };
    let mut run = async || -> Result<(), String> {
        for i in 0..=n {
            let (elapsed, body) = api.invoke(&event(i), TIMEOUT).await?;
            check(&body, status)?;
            let start = Instant::now();
            raw(i).await?;
            let raw_elapsed = start.elapsed();
            if i > 0 {
                result.function.push(elapsed);
                result.raw.push(raw_elapsed);
            }
        }
        Ok(())
    };
    let outcome = run().await;
    result.peak_rss_kib = pid.and_then(peak_rss_kib);
    let _ = child.kill().await;
    let outcome = outcome.map_err(|e| format!("{} warm run: {e}\n{}", f.name, log_tail(&log)));
    let _ = std::fs::remove_file(&log);
    outcome.map(|()| result)
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

/// A consistent read of `keys`, as the store makes it for a membership with its community or invitation.
fn batch_get(table: &str, keys: &[(String, &str)]) -> Result<HashMap<String, KeysAndAttributes>, String> {
    let keys = keys.iter().map(|(pk, sk)| Item::from([("PK".to_owned(), s(pk.clone())), ("SK".to_owned(), s(*sk))]));
    let wanted = KeysAndAttributes::builder().set_keys(Some(keys.collect())).consistent_read(true).build();
    Ok(HashMap::from([(table.to_owned(), wanted.map_err(|e| e.to_string())?)]))
}

fn sdk_error(e: impl std::error::Error) -> String {
    aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string()
}

/// The stored item of `invitation`, to copy as the template of seeded and raw-written ones.
async fn invitation_item(client: &Client, table: &str, invitation: &str) -> Result<Item, String> {
    let out = client
        .get_item()
        .table_name(table)
        .key("PK", s(format!("INVITATION#{invitation}")))
        .key("SK", s("#INVITATION"))
        .send()
        .await
        .map_err(sdk_error)?;
    out.item.ok_or_else(|| "the fixture invitation is not stored".into())
}

/// A copy of `template` as a new invitation of `community`, issued at `millis`.
fn invitation_like(template: &Item, community: &str, millis: u64) -> Item {
    let id = uuid::Uuid::new_v4().to_string();
    let mut item = template.clone();
    item.insert("PK".into(), s(format!("INVITATION#{id}")));
    item.insert("id".into(), s(id.clone()));
    item.insert("community_id".into(), s(community));
    item.insert("GSI1PK".into(), s(format!("COMMUNITY#{community}#INVITATIONS")));
    item.insert("GSI1SK".into(), s(format!("{millis:015}#{id}")));
    item
}

/// Writes `count` invitations of other communities (25 to a community, one BatchWriteItem each, 16 at a time).
async fn seed_other_communities(client: &Client, table: &str, template: &Item, count: usize) -> Result<(), String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut left = count;
    while left > 0 {
        let n = left.min(25);
        left -= n;
        while tasks.len() >= 16 {
            tasks.join_next().await.ok_or("no task")?.map_err(|e| e.to_string())??;
        }
        let (client, table, template) = (client.clone(), table.to_owned(), template.clone());
        tasks.spawn(async move {
            let community = uuid::Uuid::new_v4().to_string();
            let mut requests: Vec<WriteRequest> = (0..n)
                .map(|i| {
                    let item = invitation_like(&template, &community, 1_700_000_000_000 + i as u64);
                    let put = PutRequest::builder().set_item(Some(item)).build().map_err(|e| e.to_string())?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, String>>()?;
            while !requests.is_empty() {
                let out = client.batch_write_item().request_items(&table, requests).send().await.map_err(sdk_error)?;
                requests = out.unprocessed_items.and_then(|mut u| u.remove(&table)).unwrap_or_default();
                if !requests.is_empty() {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ok::<(), String>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done.map_err(|e| e.to_string())??;
    }
    Ok(())
}

/// One operation's cost, measured in-process through the counting client.
struct Cost {
    operation: String,
    status: u16,
    tally: Tally,
}

async fn costed(
    app: &Arc<App>,
    counter: &Counter,
    label: &str,
    route: &Route,
    event: &Value,
) -> Result<(Cost, Value), String> {
    counter.take();
    let (status, body) = call(app, route, event).await?;
    let tally = counter.take();
    if status >= 400 {
        return Err(format!("{label} answered {status}: {body}"));
    }
    Ok((Cost { operation: label.to_owned(), status, tally }, body))
}

/// Takes any email for a message id: the bench measures what delivering costs DynamoDB, not a mail service.
struct Discard;

#[async_trait::async_trait]
impl Mailer for Discard {
    async fn send(&self, _: &Message) -> Result<String, MailError> {
        Ok("bench".to_owned())
    }
}

/// Delivers the email the invitation `id` owes, as the stream consumer does (claim, send, outcome), costed.
async fn delivered(app: &Arc<App>, counter: &Counter, label: &str, id: &str) -> Result<Cost, String> {
    let id = InvitationId::parse("invitation", id).map_err(|e| e.to_string())?;
    let seq = app
        .store
        .get_invitation(id)
        .await
        .map_err(|e| e.to_string())?
        .and_then(|i| i.delivery)
        .map(|d| d.seq)
        .ok_or_else(|| format!("{label}: the invitation owes no email"))?;
    let deliverer = Deliverer {
        store: Arc::clone(&app.store),
        sealer: Arc::clone(&app.sealer),
        mailer: Arc::new(Discard),
        clock: Arc::clone(&app.clock),
    };
    counter.take();
    let outcome = deliverer.deliver(MailItem::Community(id), seq).await;
    let tally = counter.take();
    match outcome {
        Ok(Delivered::Sent(_)) => Ok(Cost { operation: label.to_owned(), status: 0, tally }),
        other => Err(format!("{label}: {other:?}")),
    }
}

/// Every operation of the Communities API once, in an order in which each succeeds, with each email the handshake
/// owes delivered (as the stream consumer would) before the next step, so each step meets the item it would.
async fn every_operation(app: &Arc<App>, counter: &Counter) -> Result<Vec<Cost>, String> {
    let mut costs = Vec::new();
    let guest: &Caller = &GUEST;
    let (c, body) =
        costed(app, counter, "create_community", &routes::CREATE_COMMUNITY, &create_community("Costs")).await?;
    costs.push(c);
    let community = id_of(&body)?;
    let cid = community.as_str();
    let steps: Vec<(&str, &Route, Value)> = vec![
        (
            "get_community",
            &routes::GET_COMMUNITY,
            event(&routes::GET_COMMUNITY, &[("communityId", cid)], &[], None, &OWNER),
        ),
        (
            "list_communities",
            &routes::LIST_COMMUNITIES,
            event(&routes::LIST_COMMUNITIES, &[], &[("count", "20")], None, &OWNER),
        ),
    ];
    for (label, route, e) in steps {
        costs.push(costed(app, counter, label, route, &e).await?.0);
    }
    let (c, body) = costed(
        app,
        counter,
        "create_community_invitation",
        &routes::CREATE_COMMUNITY_INVITATION,
        &create_invitation(cid, guest.email),
    )
    .await?;
    costs.push(c);
    let invitation = id_of(&body)?;
    let iid = invitation.as_str();
    costs.push(delivered(app, counter, "deliver the invitation email", iid).await?);
    let accept = json!({"Action": "Accept", "ContactEmail": "ops@guest.example"});
    let confirm = json!({"Action": "Confirm"});
    let steps: Vec<(&str, &Route, Value)> = vec![
        ("get_community_invitation", &routes::GET_COMMUNITY_INVITATION, get_invitation(cid, iid)),
        ("list_community_invitations", &routes::LIST_COMMUNITY_INVITATIONS, list_invitations(cid)),
        (
            "get_invitation_details",
            &routes::GET_INVITATION_DETAILS,
            event(&routes::GET_INVITATION_DETAILS, &[("invitationId", iid)], &[], None, guest),
        ),
        (
            "process_invitation (Accept)",
            &routes::PROCESS_INVITATION,
            event(&routes::PROCESS_INVITATION, &[("invitationId", iid)], &[], Some(&accept), guest),
        ),
        (
            "list_tenant_accepted_invitations",
            &routes::LIST_TENANT_ACCEPTED_INVITATIONS,
            event(
                &routes::LIST_TENANT_ACCEPTED_INVITATIONS,
                &[("tenantId", guest.tenant)],
                &[("count", "20")],
                None,
                guest,
            ),
        ),
        (
            "process_invitation (Confirm)",
            &routes::PROCESS_INVITATION,
            event(&routes::PROCESS_INVITATION, &[("invitationId", iid)], &[], Some(&confirm), &OWNER),
        ),
        (
            "list_community_tenants",
            &routes::LIST_COMMUNITY_TENANTS,
            event(&routes::LIST_COMMUNITY_TENANTS, &[("communityId", cid)], &[("count", "50")], None, &OWNER),
        ),
        (
            "remove_community_tenant",
            &routes::REMOVE_COMMUNITY_TENANT,
            event(
                &routes::REMOVE_COMMUNITY_TENANT,
                &[("communityId", cid), ("tenantId", guest.tenant)],
                &[],
                None,
                &OWNER,
            ),
        ),
    ];
    for (label, route, e) in steps {
        costs.push(costed(app, counter, label, route, &e).await?.0);
        match label {
            "process_invitation (Accept)" => {
                costs.push(delivered(app, counter, "deliver the Accepted notice", iid).await?)
            }
            "process_invitation (Confirm)" => {
                costs.push(delivered(app, counter, "deliver the Confirmed notice", iid).await?);
            }
            _ => {}
        }
    }
    let other = id_of(
        &expect(app, &routes::CREATE_COMMUNITY_INVITATION, &create_invitation(cid, "carol@guest.example"), 201).await?,
    )?;
    let e = event(
        &routes::DELETE_COMMUNITY_INVITATION,
        &[("communityId", cid), ("invitationId", &other)],
        &[],
        None,
        &OWNER,
    );
    costs.push(costed(app, counter, "delete_community_invitation", &routes::DELETE_COMMUNITY_INVITATION, &e).await?.0);
    Ok(costs)
}

/// The requests and capacity of each operation, and of the handshake (create → Accept → Confirm) they add up to.
fn costs_table(w: &mut String, costs: &[Cost]) {
    let _ = writeln!(w, "| operation | status | requests | calls | capacity units |\n|---|---:|---:|---|---:|");
    for c in costs {
        let _ = writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            c.operation,
            if c.status == 0 { "—".to_owned() } else { c.status.to_string() },
            c.tally.requests,
            c.tally.operations_text(),
            capacity_text(&c.tally)
        );
    }
    let units = handshake_units(costs);
    let _ = writeln!(
        w,
        "\nA full handshake (create_community_invitation + Accept + Confirm): **{}** capacity units.",
        units.map_or_else(|| "not reported".to_owned(), |u| format!("{u:.1}"))
    );
}

/// The capacity units of create_community_invitation, Accept and Confirm together.
fn handshake_units(costs: &[Cost]) -> Option<f64> {
    HANDSHAKE
        .iter()
        .map(|op| costs.iter().find(|c| c.operation == *op).and_then(|c| c.tally.capacity))
        .sum::<Option<f64>>()
}

/// The operations of one community handshake.
const HANDSHAKE: [&str; 3] =
    ["create_community_invitation", "process_invitation (Accept)", "process_invitation (Confirm)"];

fn capacity_text(t: &Tally) -> String {
    t.capacity.map_or_else(|| "not reported".to_owned(), |c| format!("{c:.1}"))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0);
    let mem_kib: u64 = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines().find(|l| l.starts_with("MemTotal:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0);
    format!("{cores} cores (`nproc`), {:.1} GiB memory, Linux {}", mem_kib as f64 / 1_048_576.0, std::env::consts::ARCH)
}

fn size_mb(path: &Path) -> Option<f64> {
    std::fs::metadata(path).ok().map(|m| m.len() as f64 / 1_000_000.0)
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

async fn run(args: &Args) -> Result<(), String> {
    let plain = client(&args.endpoint, None);
    let table = format!("rsvp-bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    DynamoStore::create_table(&plain, &table).await.map_err(|e| format!("creating table {table}: {e}"))?;
    let ctx = Ctx { endpoint: args.endpoint.clone(), table: table.clone(), extra_env: args.function_env.clone() };
    if args.costs_only {
        let counter = Counter::default();
        let costs = every_operation(&app(client(&args.endpoint, Some(&counter)), &table), &counter).await?;
        let mut md = String::new();
        costs_table(&mut md, &costs);
        println!("{md}");
        return Ok(());
    }
    let app_plain = app(plain.clone(), &table);
    let fx = fixture(&app_plain).await?;
    say(&format!("table {table} seeded with a community and 31 invitations"));

    let function = |name: &'static str| Function { name, program: args.bin_dir.join(name), args: vec![], env: vec![] };
    let (get_fn, create_fn, list_fn) = (function(GET), function(CREATE), function(LIST));
    // The same functions as the one-binary bundle runs them (`scripts/build`): told which by their Handler.
    let bundled = |name: &'static str| Function {
        name,
        program: args.bin_dir.join("bundle"),
        args: vec![],
        env: vec![("_HANDLER".to_owned(), name.to_owned())],
    };

    // Cold starts.
    let get_event = get_invitation(&fx.community, &fx.invitation);
    say(&format!("cold starts: {} spawns each", args.spawns));
    let cold_get = cold_starts(&get_fn, &ctx, args.spawns, |_| get_event.clone(), 200).await?;
    let cold_create = cold_starts(
        &create_fn,
        &ctx,
        args.spawns,
        |_| create_invitation(&fx.community, &unique_recipient("cold")),
        201,
    )
    .await?;
    let bundle_present = args.bin_dir.join("bundle").exists();
    let (cold_bundle_get, cold_bundle_create) = match bundle_present {
        true => {
            let get = cold_starts(&bundled(GET), &ctx, args.spawns, |_| get_event.clone(), 200).await?;
            let create = cold_starts(
                &bundled(CREATE),
                &ctx,
                args.spawns,
                |_| create_invitation(&fx.community, &unique_recipient("cold-bundle")),
                201,
            )
            .await?;
            (Some(get), Some(create))
        }
        false => (None, None),
    };
    let cold_python = match &args.python {
        Some(python) => {
            let f = Function {
                name: "get-community-invitation-python",
                program: python.clone(),
                args: vec![args.python_script.clone()],
                env: vec![],
            };
            Some(cold_starts(&f, &ctx, args.spawns, |_| get_event.clone(), 200).await?)
        }
        None => None,
    };

    // Warm latency, each invocation beside the raw DynamoDB call(s) it makes.
    say(&format!("warm runs: {} invocations each", args.warm));
    let owner_member = (format!("COMMUNITY#{}", fx.community), "TENANT#tenant-owner");
    let get_keys =
        batch_get(&table, &[owner_member.clone(), (format!("INVITATION#{}", fx.invitation), "#INVITATION")])?;
    let warm_get = warm(
        &get_fn,
        &ctx,
        args.warm,
        |_| get_event.clone(),
        200,
        async |_| {
            plain.batch_get_item().set_request_items(Some(get_keys.clone())).send().await.map(|_| ()).map_err(sdk_error)
        },
    )
    .await?;
    let community_keys =
        batch_get(&table, &[owner_member.clone(), (format!("COMMUNITY#{}", fx.community), "#COMMUNITY")])?;
    // The owner's settings and the recipient's suppression (none), under the owner tenant's key.
    let settings_keys = batch_get(
        &table,
        &[("TENANT#tenant-owner".to_owned(), "#USERSETTINGS"), ("TENANT#tenant-owner".to_owned(), "SUPPRESSED#raw")],
    )?;
    let template = invitation_item(&plain, &table, &fx.invitation).await?;
    let warm_create = warm(
        &create_fn,
        &ctx,
        args.warm,
        |_| create_invitation(&fx.community, &unique_recipient("warm")),
        201,
        async |i| {
            plain.batch_get_item().set_request_items(Some(community_keys.clone())).send().await.map_err(sdk_error)?;
            // The owner tenant's settings (its mail budget) with the address's suppression, then the day's counts
            // it and the address draw on.
            plain.batch_get_item().set_request_items(Some(settings_keys.clone())).send().await.map_err(sdk_error)?;
            for counter in [format!("RAWCOUNT#{i}"), format!("RAWRECIPIENT#{i}")] {
                plain
                    .update_item()
                    .table_name(&table)
                    .key("PK", s("TENANT#tenant-owner"))
                    .key("SK", s(counter))
                    .update_expression("ADD #n :one")
                    .condition_expression("attribute_not_exists(#n) OR #n < :cap")
                    .expression_attribute_names("#n", "count")
                    .expression_attribute_values(":one", AttributeValue::N("1".into()))
                    .expression_attribute_values(":cap", AttributeValue::N("1000000".into()))
                    .send()
                    .await
                    .map_err(sdk_error)?;
            }
            let item = invitation_like(&template, &fx.community, 1_800_000_000_000 + i as u64);
            let lock: Item = [
                ("PK".to_owned(), s(format!("LOCK#{}#raw-{i}@guest.example", uuid::Uuid::new_v4()))),
                ("SK".to_owned(), s("#LOCK")),
                ("invitation".to_owned(), item["id"].clone()),
                ("expires".to_owned(), AttributeValue::N("1800000000000".into())),
                ("ttl".to_owned(), AttributeValue::N("1800000000".into())),
            ]
            .into_iter()
            .collect();
            let put = |item: Item, condition: &str| -> Result<TransactWriteItem, String> {
                let put = Put::builder().table_name(&table).set_item(Some(item)).condition_expression(condition);
                Ok(TransactWriteItem::builder().put(put.build().map_err(|e| e.to_string())?).build())
            };
            // The community's counter of open invitations moves in the same transaction.
            let count = Update::builder()
                .table_name(&table)
                .key("PK", s(format!("COMMUNITY#{}", fx.community)))
                .key("SK", s("#COMMUNITY"))
                .update_expression("ADD #open :one")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_names("#open", "open_invitations")
                .expression_attribute_values(":one", AttributeValue::N("0".into()))
                .build()
                .map_err(|e| e.to_string())?;
            let items = vec![
                put(item, "attribute_not_exists(PK)")?,
                put(lock, "attribute_not_exists(PK) OR invitation = :id OR expires <= :at")?,
                TransactWriteItem::builder().update(count).build(),
            ];
            // The lock's condition names values; give them as the store does.
            let mut items = items;
            if let Some(TransactWriteItem { put: Some(p), .. }) = items.get_mut(1) {
                p.expression_attribute_values = Some(
                    [(":id".to_owned(), s("none")), (":at".to_owned(), AttributeValue::N("1700000000000".into()))]
                        .into_iter()
                        .collect(),
                );
            }
            plain.transact_write_items().set_transact_items(Some(items)).send().await.map(|_| ()).map_err(sdk_error)
        },
    )
    .await?;
    let list_event = list_invitations(&fx.community);
    let warm_list = warm(
        &list_fn,
        &ctx,
        args.warm,
        |_| list_event.clone(),
        200,
        async |_| {
            let member = plain
                .get_item()
                .table_name(&table)
                .key("PK", s(owner_member.0.clone()))
                .key("SK", s(owner_member.1))
                .consistent_read(true)
                .send();
            let page = plain
                .query()
                .table_name(&table)
                .index_name("GSI1")
                .key_condition_expression("#pk = :pk")
                .expression_attribute_names("#pk", "GSI1PK")
                .expression_attribute_values(":pk", s(format!("COMMUNITY#{}#INVITATIONS", fx.community)))
                .scan_index_forward(false)
                .limit(21)
                .send();
            let (member, page) = tokio::join!(member, page);
            member.map_err(sdk_error)?;
            page.map(|_| ()).map_err(sdk_error)
        },
    )
    .await?;

    // Requests and capacity of every operation, then of a list page as other communities fill the table.
    say("requests and consumed capacity per operation");
    let counter = Counter::default();
    let counted = app(client(&args.endpoint, Some(&counter)), &table);
    let costs = every_operation(&counted, &counter).await?;
    let mut growth = Vec::new();
    let mut seeded = 0;
    for &size in &args.sizes {
        say(&format!("seeding other communities up to {size} invitations"));
        seed_other_communities(&plain, &table, &template, size - seeded).await?;
        seeded = size;
        let (cost, body) =
            costed(&counted, &counter, "list_community_invitations", &routes::LIST_COMMUNITY_INVITATIONS, &list_event)
                .await?;
        let items = body.as_array().map_or(0, Vec::len);
        let mut times = Vec::new();
        for _ in 0..50 {
            let start = Instant::now();
            expect(&app_plain, &routes::LIST_COMMUNITY_INVITATIONS, &list_event, 200).await?;
            times.push(start.elapsed());
        }
        growth.push((size, cost, items, Summary::of(&times).ok_or("no samples")?));
    }

    // The report.
    let cold = |v: &[Duration]| Summary::of(v).ok_or_else(|| "no samples".to_owned());
    let (cg, cc) = (cold(&cold_get)?, cold(&cold_create)?);
    let cp = cold_python.as_deref().map(cold).transpose()?;
    let bg = cold_bundle_get.as_deref().map(cold).transpose()?;
    let bc = cold_bundle_create.as_deref().map(cold).transpose()?;
    let mut md = String::new();
    let w = &mut md;
    let _ = writeln!(w, "# Benchmarks\n");
    let _ = writeln!(
        w,
        "Produced by `{}` on {}.\n",
        args.command,
        if args.date.is_empty() { "an unrecorded date" } else { &args.date }
    );
    let _ = writeln!(w, "- Machine: {}; shared with other work, so figures are indicative, not exact.", machine());
    let _ = writeln!(
        w,
        "- DynamoDB: DynamoDB Local on the same machine (no TLS, no network): absolute latencies are far below AWS's, and ratios are what carry over."
    );
    let _ = writeln!(
        w,
        "- Functions: the release binaries (`target/release/<crate>`), run as Lambda runs them against a Runtime API served by the bench."
    );
    for note in &args.notes {
        let _ = writeln!(w, "- {note}");
    }
    let _ = writeln!(
        w,
        "- Function environment sets `RSVP_EMAILS_PER_TENANT_PER_DAY={BENCH_TENANT_BUDGET}`: the warm create loop outgrows the default daily budget; every create still reserves from it."
    );
    for (name, value) in &args.function_env {
        let _ = writeln!(w, "- Function environment adds `{name}={value}`.");
    }
    let _ = writeln!(w, "\n## Cold start\n");
    let _ = writeln!(
        w,
        "From process spawn to the first answer posted to the Runtime API, the event already waiting; SDK client creation and the first connection are inside the span. {} spawns each, after one unrecorded spawn that warms the page cache.\n",
        args.spawns
    );
    let _ = writeln!(w, "| function | median ms | p90 ms |\n|---|---:|---:|");
    let _ = writeln!(w, "| get_community_invitation (rsvp) | {} | {} |", ms(cg.median), ms(cg.p90));
    let _ = writeln!(w, "| create_community_invitation (rsvp) | {} | {} |", ms(cc.median), ms(cc.p90));
    if let (Some(g), Some(c)) = (bg, bc) {
        let bundle = "rsvp, the one-binary bundle of `scripts/build`";
        let _ = writeln!(w, "| get_community_invitation ({bundle}) | {} | {} |", ms(g.median), ms(g.p90));
        let _ = writeln!(w, "| create_community_invitation ({bundle}) | {} | {} |", ms(c.median), ms(c.p90));
    }
    if let Some(p) = cp {
        let _ = writeln!(
            w,
            "| get_community_invitation (Python 3 + boto3, `bench/python/bootstrap.py`) | {} | {} |",
            ms(p.median),
            ms(p.p90)
        );
        let _ = writeln!(w, "\nPython / rsvp (get, median): **{}×**.", ratio(p.median, cg.median));
    } else {
        let _ = writeln!(w, "\nThe Python comparison was not run (no Python given).");
    }
    if let (Some(g), Some(c)) = (bg, bc) {
        let _ = writeln!(
            w,
            "\nThe bundle / each function's own binary (median): get **{}×**, create **{}×**.",
            ratio(g.median, cg.median),
            ratio(c.median, cc.median)
        );
    }
    let _ = writeln!(w, "\n## Warm latency\n");
    let _ = writeln!(
        w,
        "{} sequential invocations through one warm process (Runtime API round trip included), each followed by the same DynamoDB request(s) made directly with the SDK from the bench.\n",
        args.warm
    );
    let _ = writeln!(
        w,
        "| operation | raw DynamoDB call(s) | rsvp median ms | rsvp p99 ms | raw median ms | raw p99 ms | median ratio | p99 ratio | peak RSS MiB |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    let mut warm_rows = Vec::new();
    for (label, raw_calls, r) in [
        ("get_community_invitation", "BatchGetItem (membership + invitation)", &warm_get),
        (
            "create_community_invitation",
            "BatchGetItem (membership + community), BatchGetItem (settings + suppression), 2 UpdateItem (day counts), \
             TransactWriteItems (invitation + lock + counter)",
            &warm_create,
        ),
        ("list_community_invitations (20 a page)", "GetItem (membership) ∥ Query (GSI1)", &warm_list),
    ] {
        let f = Summary::of(&r.function).ok_or("no samples")?;
        let raw = Summary::of(&r.raw).ok_or("no samples")?;
        let rss = r.peak_rss_kib.map_or("?".to_owned(), |k| format!("{:.1}", k as f64 / 1024.0));
        let _ = writeln!(
            w,
            "| {label} | {raw_calls} | {} | {} | {} | {} | {} | {} | {rss} |",
            ms(f.median),
            ms(f.p99),
            ms(raw.median),
            ms(raw.p99),
            ratio(f.median, raw.median),
            ratio(f.p99, raw.p99)
        );
        warm_rows.push((label, f, raw, r.peak_rss_kib));
    }
    let _ = writeln!(w, "\n## DynamoDB requests and consumed capacity\n");
    let _ = writeln!(
        w,
        "Each operation run once in-process over a `DynamoStore` whose client counts HTTP requests and sums the `ConsumedCapacity` DynamoDB Local reports (`ReturnConsumedCapacity=TOTAL` set on every request). Capacity is in read/write units as DynamoDB Local computes them.\n"
    );
    costs_table(w, &costs);
    let _ = writeln!(w, "\n### A list page as the table grows\n");
    let _ = writeln!(
        w,
        "`list_community_invitations` (first page of 20, of a community with 31 invitations) with other communities' invitations seeded by BatchWriteItem; latency in-process, 50 calls.\n"
    );
    let _ = writeln!(
        w,
        "| invitations of other communities | requests | capacity units | items returned | median ms | p99 ms |\n|---:|---:|---:|---:|---:|---:|"
    );
    for (size, cost, items, t) in &growth {
        let _ = writeln!(
            w,
            "| {size} | {} | {} | {items} | {} | {} |",
            cost.tally.requests,
            capacity_text(&cost.tally),
            ms(t.median),
            ms(t.p99)
        );
    }
    let _ = writeln!(w, "\n## Size and memory\n");
    let _ = writeln!(
        w,
        "| function | native (x86_64) MB | arm64 MB (`cargo lambda build --release --arm64`) |\n|---|---:|---:|"
    );
    let mut sizes = Vec::new();
    for name in [GET, CREATE] {
        let native = size_mb(&args.bin_dir.join(name));
        let arm = args.lambda_dir.as_ref().and_then(|d| size_mb(&d.join(name).join("bootstrap")));
        let f = |v: Option<f64>| v.map_or("not built".to_owned(), |v| format!("{v:.2}"));
        let _ = writeln!(w, "| {name} | {} | {} |", f(native), f(arm));
        sizes.push((name, native, arm));
    }
    let _ = writeln!(
        w,
        "\nSizes in 10⁶ bytes, as built by the release profile (symbols stripped). Peak RSS (`VmHWM`) of each warm process is in the warm latency table."
    );

    // Targets.
    let _ = writeln!(w, "\n## Targets\n\n| target | result | |\n|---|---|---|");
    let cold_max = cg.median.max(cc.median);
    let _ = writeln!(
        w,
        "| cold start ≤ 50 ms median | get {} ms, create {} ms | {} |",
        ms(cg.median),
        ms(cc.median),
        verdict(cold_max <= Duration::from_millis(50))
    );
    if let Some(p) = cp {
        let r = p.median.as_secs_f64() / cg.median.as_secs_f64().max(1e-9);
        let _ = writeln!(w, "| ≥ 10× faster cold start than Python boto3 | {r:.1}× | {} |", verdict(r >= 10.0));
    }
    for (label, f, raw, _) in &warm_rows {
        let (rm, rp) = (f.median.as_secs_f64() / raw.median.as_secs_f64(), f.p99.as_secs_f64() / raw.p99.as_secs_f64());
        let _ = writeln!(
            w,
            "| warm {label}: median ≤ 1.15×, p99 ≤ 1.5× raw | {rm:.2}×, {rp:.2}× | {} |",
            verdict(rm <= 1.15 && rp <= 1.5)
        );
    }
    let rss_max = warm_rows.iter().filter_map(|r| r.3).max();
    let _ = writeln!(
        w,
        "| peak RSS ≤ 32 MB | {} | {} |",
        rss_max.map_or("?".to_owned(), |k| format!("{:.1} MiB", k as f64 / 1024.0)),
        verdict(rss_max.is_some_and(|k| k * 1024 <= 32 * 1024 * 1024))
    );
    let arm_max = sizes.iter().filter_map(|s| s.2).fold(None, |m: Option<f64>, v| Some(m.map_or(v, |m| m.max(v))));
    match arm_max {
        Some(v) => {
            let _ = writeln!(w, "| arm64 binary ≤ 8 MB | {v:.2} MB | {} |", verdict(v <= 8.0));
        }
        None => {
            let _ = writeln!(w, "| arm64 binary ≤ 8 MB | not built | — |");
        }
    }
    let req = |op: &str| costs.iter().find(|c| c.operation == op).map_or(0, |c| c.tally.requests);
    let _ = writeln!(
        w,
        "| one DynamoDB request for get | {} | {} |",
        req("get_community_invitation"),
        verdict(req("get_community_invitation") == 1)
    );
    let _ = writeln!(
        w,
        "| one request for a list page | {} | {} |",
        req("list_community_invitations"),
        verdict(req("list_community_invitations") == 1)
    );
    let units = handshake_units(&costs);
    let _ = writeln!(
        w,
        "| a full handshake ≤ 22 capacity units | {} | {} |",
        units.map_or_else(|| "not reported".to_owned(), |u| format!("{u:.1}")),
        verdict(units.is_some_and(|u| u <= 22.0))
    );
    let flat = growth
        .windows(2)
        .all(|p| p[0].1.tally.requests == p[1].1.tally.requests && p[0].1.tally.capacity == p[1].1.tally.capacity);
    let _ = writeln!(
        w,
        "| a page's cost does not grow with the table | {} | {} |",
        if flat { "constant" } else { "grows" },
        verdict(flat)
    );

    println!("{md}");
    std::fs::write(&args.out, &md).map_err(|e| format!("writing {}: {e}", args.out.display()))?;
    say(&format!("wrote {}", args.out.display()));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn defaults_and_flags() {
        let a = parse(&["--endpoint", "http://127.0.0.1:1", "--spawns", "3", "--sizes", "10000,100", "--note", "x"])
            .unwrap();
        assert_eq!(a.endpoint, "http://127.0.0.1:1");
        assert_eq!((a.spawns, a.warm), (3, 2000));
        assert_eq!(a.sizes, vec![100, 10_000]);
        assert_eq!(a.notes, vec!["x".to_owned()]);
        assert_eq!(a.out, PathBuf::from("BENCHMARKS.md"));
        let a = parse(&["--endpoint", "e", "--function-env", "RUST_LOG=warn"]).unwrap();
        assert_eq!(a.function_env, vec![("RUST_LOG".to_owned(), "warn".to_owned())]);
        assert!(parse(&["--endpoint", "e", "--function-env", "RUST_LOG"]).is_err());
    }

    #[test]
    fn mistakes_are_refused() {
        assert!(parse(&[]).is_err());
        assert!(parse(&["--endpoint"]).is_err());
        assert!(parse(&["--endpoint", "e", "--warm", "many"]).is_err());
        assert!(parse(&["--endpoint", "e", "--bogus"]).is_err());
    }

    #[test]
    fn the_lambda_environment_points_at_the_bench() {
        let env = lambda_env("f", "127.0.0.1:9", "http://127.0.0.1:8", "t");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("AWS_LAMBDA_RUNTIME_API"), Some("127.0.0.1:9"));
        assert_eq!(get("AWS_ENDPOINT_URL_DYNAMODB"), Some("http://127.0.0.1:8"));
        assert_eq!(get("RSVP_TABLE_NAME"), Some("t"));
        assert_eq!(get("AWS_LAMBDA_FUNCTION_NAME"), Some("f"));
    }
}
