//! The functions as Lambda runs them: a release binary (or the bundle, or the Python comparison) spawned with
//! Lambda's environment against a Runtime API served by the bench ([`RuntimeApi`]), timed from the spawn to its
//! first answer (cold start) and over thousands of invocations of one process (warm latency, with its peak RSS).
//! Separate from the in-process costing because it deals in processes, their environment and their logs.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use serde_json::Value;

use crate::fixtures::{Fixture, create_invitation, get_invitation, list_invitations, unique_recipient};
use crate::raw::{Baseline, Item};
use crate::runtime_api::{Outcome, RuntimeApi};
use crate::{Args, BENCH_TENANT_BUDGET, CREATE, GET, LIST, events, say};

/// How long the bench waits for a function's answer before it calls the run failed.
const TIMEOUT: Duration = Duration::from_secs(30);

/// What Lambda puts in a function's environment, pointed at the bench's Runtime API and DynamoDB Local.
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

/// A function to run: a program, its arguments and its own environment (its output goes to a log file of its own).
#[derive(Clone)]
struct Function {
    name: &'static str,
    program: PathBuf,
    args: Vec<PathBuf>,
    /// Environment of this function's own, beside Lambda's: the bundle's `_HANDLER` (its Handler in the template).
    env: Vec<(String, String)>,
}

impl Function {
    /// The function `name` as its own release binary.
    fn own(bin_dir: &Path, name: &'static str) -> Self {
        Function { name, program: bin_dir.join(name), args: vec![], env: vec![] }
    }

    /// The same function as the one-binary bundle runs it (`scripts/build`): told which by its Handler.
    fn bundled(bin_dir: &Path, name: &'static str) -> Self {
        Function {
            name,
            program: bin_dir.join("bundle"),
            args: vec![],
            env: vec![("_HANDLER".to_owned(), name.to_owned())],
        }
    }

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

/// What every function process is pointed at: DynamoDB Local, the bench's table, and the `--function-env`
/// settings.
pub struct Ctx {
    pub endpoint: String,
    pub table: String,
    pub extra_env: Vec<(String, String)>,
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

/// One warm run: each invocation's latency, each raw call's beside it, and the process's peak RSS.
pub struct Warm {
    pub function: Vec<Duration>,
    pub raw: Vec<Duration>,
    pub peak_rss_kib: Option<u64>,
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

/// The cold starts of the Cold start section, each `--spawns` long.
pub struct ColdRuns {
    pub get: Vec<Duration>,
    pub create: Vec<Duration>,
    /// The same two through the one-binary bundle, if it is built.
    pub bundle_get: Option<Vec<Duration>>,
    pub bundle_create: Option<Vec<Duration>>,
    /// The Python boto3 get, if `--python` is given.
    pub python: Option<Vec<Duration>>,
}

/// Cold starts of get and create (each create to a new address), through their own binaries, then the bundle's if
/// `scripts/build` built it, then the Python get if a Python is given.
pub async fn cold_runs(args: &Args, ctx: &Ctx, fx: &Fixture) -> Result<ColdRuns, String> {
    let get_event = get_invitation(&fx.community, &fx.invitation);
    say(&format!("cold starts: {} spawns each", args.spawns));
    // Get and create as `function` runs them, each create to a new address tagged `tag`.
    let get_and_create = async |function: fn(&Path, &'static str) -> Function, tag: &str| {
        let get = cold_starts(&function(&args.bin_dir, GET), ctx, args.spawns, |_| get_event.clone(), 200).await?;
        let create = cold_starts(
            &function(&args.bin_dir, CREATE),
            ctx,
            args.spawns,
            |_| create_invitation(&fx.community, &unique_recipient(tag)),
            201,
        )
        .await?;
        Ok::<_, String>((get, create))
    };
    let (get, create) = get_and_create(Function::own, "cold").await?;
    let bundle_present = args.bin_dir.join("bundle").exists();
    let (bundle_get, bundle_create) = match bundle_present {
        true => {
            let (get, create) = get_and_create(Function::bundled, "cold-bundle").await?;
            (Some(get), Some(create))
        }
        false => (None, None),
    };
    let python = match &args.python {
        Some(python) => {
            let f = Function {
                name: "get-community-invitation-python",
                program: python.clone(),
                args: vec![args.python_script.clone()],
                env: vec![],
            };
            Some(cold_starts(&f, ctx, args.spawns, |_| get_event.clone(), 200).await?)
        }
        None => None,
    };
    Ok(ColdRuns { get, create, bundle_get, bundle_create, python })
}

/// The warm runs of the Warm latency section, each `--warm` invocations long.
pub struct WarmRuns {
    pub get: Warm,
    pub create: Warm,
    pub list: Warm,
}

/// Warm runs of get, create (each to a new address) and list through their own binaries, each invocation beside
/// the raw DynamoDB call(s) it makes ([`Baseline`]); `template` is the fixture invitation's stored item.
pub async fn warm_runs(
    args: &Args,
    ctx: &Ctx,
    fx: &Fixture,
    plain: &Client,
    template: &Item,
) -> Result<WarmRuns, String> {
    say(&format!("warm runs: {} invocations each", args.warm));
    let raw = Baseline::new(plain, &ctx.table, fx, template)?;
    let get_event = get_invitation(&fx.community, &fx.invitation);
    let get =
        warm(&Function::own(&args.bin_dir, GET), ctx, args.warm, |_| get_event.clone(), 200, async |_| raw.get().await)
            .await?;
    let create = warm(
        &Function::own(&args.bin_dir, CREATE),
        ctx,
        args.warm,
        |_| create_invitation(&fx.community, &unique_recipient("warm")),
        201,
        async |i| raw.create(i).await,
    )
    .await?;
    let list_event = list_invitations(&fx.community);
    let list = warm(
        &Function::own(&args.bin_dir, LIST),
        ctx,
        args.warm,
        |_| list_event.clone(),
        200,
        async |_| raw.list().await,
    )
    .await?;
    Ok(WarmRuns { get, create, list })
}

#[cfg(test)]
mod tests {
    use super::*;

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
