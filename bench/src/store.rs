//! `rsvp-store-bench`: the embedded store as `rsvp-local` serves it, over HTTP, as a data folder grows. For each
//! size (1,000, 10,000 and 100,000 invitations of one community by default) it times creating one more invitation
//! and reading a 20-item page from the middle of the list, and reports median and p99 at each size and the ratio
//! of the largest size to the smallest (target ≤ 1.3: a store whose cost does not grow with the list).
//!
//! ```sh
//! cargo build --release -p rsvp-local -p rsvp-bench
//! target/release/rsvp-store-bench --out store.md        # scripts/bench runs it so and appends store.md
//! ```
//!
//! Each size gets a fresh data folder: the community and its invitations (each to its own address, one a
//! millisecond apart, their emails already recorded sent so the server's start-up sweep has nothing to send) are
//! written into `rsvp.db` in-process in one transaction, through `SqliteStore`'s import of a `store.json` (the
//! store's one batch write; over HTTP the seeding would take far longer than the measurement). A release
//! `rsvp-local serve` per size then serves its folder with the mail budget raised through its environment
//! (`RSVP_EMAILS_PER_TENANT_PER_DAY`, `RSVP_EMAILS_PER_RECIPIENT_PER_DAY`: every create still reserves from it),
//! and the bench talks to each over one keep-alive HTTP/1.1 connection with a token from `rsvp-local token`. The
//! requests go round-robin across the servers, each round starting with the next: a commit waits for the disk,
//! and on a shared machine the disk's latency drifts by more than the 1.3 target within a minute, so timing the
//! sizes one after the other compared moments rather than sizes. The `MemoryStore` of earlier versions is not
//! measured: it rewrote its whole file on every write.
//!
//! Options: `--sizes 1000,10000,100000`, `--samples 1000` (timed requests of each kind per size: p99 is then the
//! tenth slowest, not one stray hiccup), `--warmup 50`, `--rsvp-local PATH` (default: `rsvp-local` beside this
//! binary), `--dir DIR` (where the data folders go; default the temporary directory), `--out FILE` (the markdown
//! section, also printed). Takes about half a minute at the default sizes on 2 cores, half of it seeding 100,000
//! invitations (about 140 MB of `rsvp.db`, removed after).

#[path = "stats.rs"]
#[allow(dead_code)]
mod stats;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::BufRead as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::Bytes;
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rsvp::domain::{
    Clock as _, Community, CommunityInput, CommunityInvitation, DeliveryState, Email, InvitationPolicy, Membership,
    Principal, Role, SystemClock, TenantId, Timestamp, UserId,
};
use rsvp::http::request::encode_cursor;
use rsvp::store::Cursor;
use rsvp::store::sqlite::SqliteStore;
use serde_json::{Value, json};
use stats::{Summary, ms};

type Failure = Box<dyn std::error::Error>;

const PAGE: usize = 20;
/// The largest / smallest size ratio each figure should stay under.
const TARGET: f64 = 1.3;
const TENANT: &str = "tenant-owner";
const ADMIN: &str = "ada@owner.example";
const STARTUP: Duration = Duration::from_secs(30);

const USAGE: &str = "usage: rsvp-store-bench [--sizes N,N,...] [--samples N] [--warmup N] [--rsvp-local PATH] \
                     [--dir DIR] [--out FILE]";

struct Args {
    sizes: Vec<usize>,
    samples: usize,
    warmup: usize,
    server: PathBuf,
    dir: PathBuf,
    out: Option<PathBuf>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let beside = std::env::current_exe().ok().and_then(|exe| exe.parent().map(|d| d.join("rsvp-local")));
    let mut a = Args {
        sizes: vec![1_000, 10_000, 100_000],
        samples: 1000,
        warmup: 50,
        server: beside.unwrap_or_else(|| "rsvp-local".into()),
        dir: std::env::temp_dir(),
        out: None,
    };
    let number = |flag: &str, v: &str| v.parse::<usize>().ok().filter(|n| *n > 0).ok_or(format!("{flag} {v}?"));
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
        match flag.as_str() {
            "--sizes" => {
                let v = value()?;
                a.sizes = v.split(',').map(|s| number("--sizes", s.trim())).collect::<Result<_, _>>()?;
            }
            "--samples" => a.samples = number("--samples", &value()?)?,
            "--warmup" => a.warmup = value()?.parse().map_err(|_| "--warmup takes a number".to_owned())?,
            "--rsvp-local" => a.server = value()?.into(),
            "--dir" => a.dir = value()?.into(),
            "--out" => a.out = Some(value()?.into()),
            "-h" | "--help" => return Err(USAGE.to_owned()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if a.sizes.len() < 2 || a.sizes.iter().any(|&n| n < 100) {
        return Err(format!("--sizes needs at least two sizes, each of 100 or more\n{USAGE}"));
    }
    Ok(a)
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rsvp-store-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// What one size measured.
struct Measured {
    size: usize,
    seed: Duration,
    db_bytes: u64,
    create: Summary,
    page: Summary,
}

async fn run(args: &Args) -> Result<(), Failure> {
    if !args.server.is_file() {
        return Err(
            format!("{} not found: build it with cargo build --release -p rsvp-local", args.server.display()).into()
        );
    }
    let root = args.dir.join(format!("rsvp-store-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&root)?;
    let result = measure(args, &root).await;
    let _ = std::fs::remove_dir_all(&root);
    let md = report(args, &result?);
    print!("{md}");
    if let Some(out) = &args.out {
        std::fs::write(out, &md).map_err(|e| format!("writing {}: {e}", out.display()))?;
        eprintln!("rsvp-store-bench: wrote {}", out.display());
    }
    Ok(())
}

/// One size's data folder, served.
struct Target {
    size: usize,
    seed: Duration,
    db_bytes: u64,
    create: String,
    list: String,
    middle: Middle,
    creates: Vec<Duration>,
    pages: Vec<Duration>,
    // Dropped before the server it talks to.
    client: Client,
    _server: Server,
}

impl Target {
    /// Creates one more invitation, to a new address; the time it took.
    async fn create(&mut self, n: usize) -> Result<Duration, Failure> {
        let body = json!({ "InvitationRecipient": format!("new-{n}@bench.example") }).to_string();
        let began = Instant::now();
        let (status, bytes) = self.client.send(Method::POST, &self.create, Some(body)).await?;
        let took = began.elapsed();
        if status != StatusCode::CREATED {
            return Err(format!("create answered {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok(took)
    }

    /// Reads the page after the middle invitation; the time it took, and the page.
    async fn page(&mut self) -> Result<(Duration, Bytes), Failure> {
        let began = Instant::now();
        let (status, bytes) = self.client.send(Method::GET, &self.list, None).await?;
        let took = began.elapsed();
        if status != StatusCode::OK {
            return Err(format!("list answered {status}: {}", String::from_utf8_lossy(&bytes)).into());
        }
        Ok((took, bytes))
    }
}

/// Seeds and serves every size, then times the requests round-robin across the servers, each round in a rotated
/// order: whatever else the machine does at a moment falls on every size alike, so the ratios compare like with
/// like.
async fn measure(args: &Args, root: &Path) -> Result<Vec<Measured>, Failure> {
    let owner = Principal {
        user: UserId::parse("sub", ADMIN)?,
        tenant: TenantId::parse("tenant", TENANT)?,
        email: Some(Email::parse(ADMIN)?),
        tenant_name: None,
        roles: vec![Role::TenantAdministrator],
    };
    let mut targets = Vec::new();
    for &size in &args.sizes {
        let dir = root.join(size.to_string());
        std::fs::create_dir_all(&dir)?;
        eprintln!("rsvp-store-bench: seeding {size} invitations");
        let began = Instant::now();
        let (community, middle) = seed(&dir, &owner, size)?;
        let seed = began.elapsed();
        let db_bytes = std::fs::metadata(dir.join("rsvp.db"))?.len();
        let token = token(&args.server, &dir)?;
        let server = Server::start(&args.server, &dir)?;
        let client = Client::connect(server.addr, token).await?;
        let path = format!("/api/v1-preview/communities/{}/invitations", community.id);
        let list = format!("{path}?count={PAGE}&continuationToken={}", encode_cursor(&middle.cursor));
        let mut target = Target {
            size,
            seed,
            db_bytes,
            create: path,
            list,
            middle,
            creates: Vec::with_capacity(args.samples),
            pages: Vec::with_capacity(args.samples),
            client,
            _server: server,
        };
        let (_, bytes) = target.page().await?;
        let page: Vec<Value> = serde_json::from_slice(&bytes)?;
        if page.len() != PAGE || page[0]["Id"].as_str() != Some(target.middle.next_id.as_str()) {
            return Err(format!("the middle page of {size} is not the {PAGE} invitations after the middle one").into());
        }
        targets.push(target);
    }
    let (rounds, k) = (args.warmup + args.samples, targets.len());
    eprintln!("rsvp-store-bench: {} warm-up and {} timed rounds of creates, then of pages", args.warmup, args.samples);
    for round in 0..rounds {
        for i in 0..k {
            let target = &mut targets[(round + i) % k];
            let took = target.create(round).await?;
            if round >= args.warmup {
                target.creates.push(took);
            }
        }
    }
    // The emails of the creates go out in the background; let the outboxes settle before reading.
    tokio::time::sleep(Duration::from_millis(500)).await;
    for round in 0..rounds {
        for i in 0..k {
            let target = &mut targets[(round + i) % k];
            let (took, _) = target.page().await?;
            if round >= args.warmup {
                target.pages.push(took);
            }
        }
    }
    let summary = |samples: &[Duration]| Summary::of(samples).ok_or("no samples");
    targets
        .into_iter()
        .map(|t| {
            Ok(Measured {
                size: t.size,
                seed: t.seed,
                db_bytes: t.db_bytes,
                create: summary(&t.creates)?,
                page: summary(&t.pages)?,
            })
        })
        .collect()
}

/// The list position after the middle invitation, and the id the page from it starts with.
struct Middle {
    cursor: Cursor,
    next_id: String,
}

/// Writes a community with `size` invitations into `<dir>/rsvp.db`, in one transaction, and returns the community
/// and the middle of its list.
fn seed(dir: &Path, owner: &Principal, size: usize) -> Result<(Community, Middle), Failure> {
    // One a millisecond apart, the newest a minute ago: all pending, none expired, older than every create.
    let first = SystemClock.now().millis() - 60_000 - size as i64;
    let input = CommunityInput::new("Bench", Some("Many invitations"), None)?;
    let (mut community, membership) = Community::create(input, owner.tenant.clone(), Timestamp::from_millis(first));
    let invitations: Vec<CommunityInvitation> = (0..size)
        .map(|n| {
            let at = Timestamp::from_millis(first + n as i64);
            let to = Email::parse(&format!("guest{n}@guest.example"))?;
            let mut invitation = CommunityInvitation::create(&community, to, owner, at, InvitationPolicy::default()).0;
            if let Some(delivery) = invitation.delivery.as_mut() {
                delivery.state = DeliveryState::Sent;
                delivery.sent = Some(at);
                delivery.message_id = Some(format!("seed-{n}"));
            }
            Ok(invitation)
        })
        .collect::<Result<_, Failure>>()?;
    community.open_invitations = u32::try_from(size)?;
    let file = dir.join("store.json");
    std::fs::write(&file, store_file(&community, &membership, &invitations)?)?;
    let store = SqliteStore::open(&dir.join("rsvp.db"))?;
    let imported = store.import_memory_file(&file)?.ok_or("the store file was not imported")?;
    std::fs::remove_file(imported.renamed_to)?;
    // Newest first: the page after the middle invitation starts with the one issued just before it.
    let mid = &invitations[size / 2];
    let middle = Middle {
        // As `store::order::invitation` makes it: zero-padded milliseconds, then the id.
        cursor: Cursor { sort: format!("{:015}#{}", mid.issued.millis(), mid.id) },
        next_id: invitations[size / 2 - 1].id.to_string(),
    };
    Ok((community, middle))
}

/// The `store.json` an earlier version keeps for this data: the community, its owner, the invitations and their
/// recipient locks.
fn store_file(
    community: &Community,
    owner: &Membership,
    invitations: &[CommunityInvitation],
) -> Result<Vec<u8>, serde_json::Error> {
    let mut members = BTreeMap::new();
    members.insert(format!("{}/{}", community.id, community.owner), serde_json::to_value(owner)?);
    let mut items = BTreeMap::new();
    let mut locks = BTreeMap::new();
    for i in invitations {
        items.insert(i.id.to_string(), serde_json::to_value(i)?);
        let lock = json!({"invitation": i.id.to_string(), "expires": i.expires.millis()});
        locks.insert(format!("{}/{}", i.community_id, i.recipient.key()), lock);
    }
    let state: Value = json!({
        "communities": {community.id.to_string(): community},
        "members": members,
        "invitations": items,
        "locks": locks,
    });
    serde_json::to_vec(&state)
}

/// A bearer token for the owner tenant's administrator, from `rsvp-local token` over the data folder's key.
fn token(server: &Path, dir: &Path) -> Result<String, Failure> {
    let out = Command::new(server)
        .args(["token", "--tenant", TENANT, "--email", ADMIN, "--role", "TenantAdministrator", "--data-dir"])
        .arg(dir)
        .output()?;
    if !out.status.success() {
        return Err(format!("rsvp-local token: {}", String::from_utf8_lossy(&out.stderr)).into());
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// `rsvp-local serve` on a free port over the data folder, killed when dropped. Its standard output (a line per
/// email written) is read and dropped; its log goes to `<dir>/rsvp-local.log`.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(program: &Path, dir: &Path) -> Result<Self, Failure> {
        let log = dir.join("rsvp-local.log");
        let mut child = Command::new(program)
            .args(["serve", "--port", "0", "--data-dir"])
            .arg(dir)
            // The mail budget would refuse a stream of creates: raised to the most each setting allows.
            .env("RSVP_EMAILS_PER_TENANT_PER_DAY", "1000000")
            .env("RSVP_EMAILS_PER_RECIPIENT_PER_DAY", "1000")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log)?)
            .spawn()
            .map_err(|e| format!("starting {}: {e}", program.display()))?;
        let stdout = child.stdout.take().ok_or("no standard output")?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("rsvp listening on http://")
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.split(';').next().unwrap_or_default().to_owned());
                }
            }
        });
        let mut server = Self { child, addr: ([127, 0, 0, 1], 0).into() };
        match rx.recv_timeout(STARTUP) {
            Ok(addr) => server.addr = addr.parse()?,
            Err(_) => {
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("rsvp-local serve did not start:\n{log}").into());
            }
        }
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One keep-alive HTTP/1.1 connection to the server, every request with the token.
struct Client {
    sender: SendRequest<Full<Bytes>>,
    host: String,
    token: String,
}

impl Client {
    async fn connect(addr: SocketAddr, token: String) -> Result<Self, Failure> {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(connection);
        Ok(Self { sender, host: addr.to_string(), token })
    }

    /// Sends one request and reads the whole answer.
    async fn send(&mut self, method: Method, path: &str, body: Option<String>) -> Result<(StatusCode, Bytes), Failure> {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("host", &self.host)
            .header("authorization", format!("Bearer {}", self.token));
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let request = request.body(Full::new(Bytes::from(body.unwrap_or_default())))?;
        self.sender.ready().await?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let bytes = response.into_body().collect().await?.to_bytes();
        Ok((status, bytes))
    }
}

/// The markdown section: the method, then a row per figure with a column per size and the ratio.
fn report(args: &Args, measured: &[Measured]) -> String {
    let (Some(first), Some(last)) = (measured.first(), measured.last()) else { return String::new() };
    let sizes: Vec<String> = measured.iter().map(|m| thousands(m.size)).collect();
    let ratio_name = format!("{} / {}", thousands(last.size), thousands(first.size));
    let mut md = String::new();
    md.push_str("## Embedded store (rsvp-local)\n\n");
    let _ = writeln!(
        md,
        "One release `rsvp-local serve` per size, side by side, each over a fresh data folder with one community of \
         that many invitations in its `rsvp.db` (SQLite, WAL, synced at every commit), written beforehand in one \
         transaction through `SqliteStore`'s import; the mail budget is raised through the server's environment \
         (`RSVP_EMAILS_PER_TENANT_PER_DAY=1000000`) and each create goes to a new address. Over one keep-alive \
         HTTP/1.1 connection to each server with a `rsvp-local token`: {w} unrecorded then {s} timed rounds of \
         `POST /api/v1-preview/communities/{{id}}/invitations` (the invitation, its lock, the community's count and \
         the day's mail counts, then the email the server writes to its outbox in the background), then as many of \
         `GET` of that list with `count={PAGE}` and the `continuationToken` of the middle invitation. A round sends \
         one request to every server in turn, starting with the next one each round, so the machine's other load \
         falls on every size alike. Times are the client's, from sending the request to reading the whole answer. \
         Target: {ratio_name} ≤ {TARGET} for each figure (neither a create nor a page costs more as the list \
         grows). The `MemoryStore` of earlier versions is not measured: it rewrote its whole file on every write.\n",
        w = args.warmup,
        s = args.samples,
    );
    let _ = writeln!(md, "| figure | {} | {ratio_name} | ≤ {TARGET} |", sizes.join(" | "));
    let _ = writeln!(md, "|---|{}---:|---|", "---:|".repeat(measured.len()));
    type Pick = fn(&Measured) -> Duration;
    let rows: [(&str, Pick); 4] = [
        ("create one invitation, median ms", |m| m.create.median),
        ("create one invitation, p99 ms", |m| m.create.p99),
        ("a 20-item page from the middle, median ms", |m| m.page.median),
        ("a 20-item page from the middle, p99 ms", |m| m.page.p99),
    ];
    for (name, pick) in rows {
        let cells: Vec<String> = measured.iter().map(|m| ms(pick(m))).collect();
        let (a, b) = (pick(last).as_secs_f64(), pick(first).as_secs_f64());
        let (ratio, verdict) = if b > 0.0 {
            let r = a / b;
            (format!("{r:.2}"), if r <= TARGET { "met" } else { "**missed**" })
        } else {
            ("n/a".to_owned(), "n/a")
        };
        let _ = writeln!(md, "| {name} | {} | {ratio} | {verdict} |", cells.join(" | "));
    }
    let seeded: Vec<String> = measured
        .iter()
        .map(|m| format!("{}: {:.1} s, {:.1} MB", thousands(m.size), m.seed.as_secs_f64(), m.db_bytes as f64 / 1e6))
        .collect();
    let _ = writeln!(md, "\nSeeding (in-process, not timed above) and the size of `rsvp.db`: {}.", seeded.join("; "));
    md
}

/// `100000` as `100,000`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, String> {
        parse_args(args.iter().map(|s| (*s).to_owned()))
    }

    #[test]
    fn sizes_samples_and_refusals() {
        let a = parse(&["--sizes", "100, 1000", "--samples", "50", "--warmup", "0", "--out", "x.md"]).unwrap();
        assert_eq!((a.sizes, a.samples, a.warmup), (vec![100, 1000], 50, 0));
        assert_eq!(a.out, Some(PathBuf::from("x.md")));
        assert_eq!(parse(&[]).unwrap().sizes, vec![1_000, 10_000, 100_000]);
        for bad in [&["--sizes", "1000"][..], &["--sizes", "10,1000"], &["--samples", "0"], &["--nope"]] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn thousands_separators() {
        assert_eq!(thousands(100), "100");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(100_000), "100,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
