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
//!
//! The modules, by topic: [`fixtures`] (the app in-process and the requests it is sent), [`functions`] (spawned
//! function processes: cold starts and warm runs), [`raw`] (the same DynamoDB calls made directly, and the
//! seeding), [`costs`] (requests and capacity of every operation) and [`report`] (the page written from it all).

mod costs;
mod counting;
mod events;
mod fixtures;
mod functions;
mod raw;
mod report;
mod runtime_api;
mod stats;

use std::path::PathBuf;
use std::process::ExitCode;

use rsvp::store::dynamodb::DynamoStore;

use costs::Counted;
use fixtures::{app, client, fixture};
use functions::Ctx;
use report::Figures;

const GET: &str = "get-community-invitation";
const CREATE: &str = "create-community-invitation";
const LIST: &str = "list-community-invitations";

/// The daily per-tenant email budget the timed functions and the in-process app run with: the warm create loop and
/// the tables the bench fills send far more than the default 500 a day from one tenant.
const BENCH_TENANT_BUDGET: u32 = 1_000_000;

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

/// Measures in the order the figures have always been taken (cold starts, warm runs, the costs of every operation, the
/// list page as the table grows), then writes the report, printed and to `--out`.
async fn run(args: &Args) -> Result<(), String> {
    let plain = client(&args.endpoint, None);
    let table = format!("rsvp-bench-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]);
    DynamoStore::create_table(&plain, &table).await.map_err(|e| format!("creating table {table}: {e}"))?;
    let ctx = Ctx { endpoint: args.endpoint.clone(), table: table.clone(), extra_env: args.function_env.clone() };
    if args.costs_only {
        let costs = costs::every_operation(&Counted::new(&args.endpoint, &table)).await?;
        let mut md = String::new();
        costs::costs_table(&mut md, &costs);
        println!("{md}");
        return Ok(());
    }
    let app_plain = app(plain.clone(), &table);
    let fx = fixture(&app_plain).await?;
    say(&format!("table {table} seeded with a community and 31 invitations"));

    let cold = functions::cold_runs(args, &ctx, &fx).await?;
    // The fixture invitation's stored item: the raw creates and the seeding copy it.
    let template = raw::invitation_item(&plain, &table, &fx.invitation).await?;
    let warm = functions::warm_runs(args, &ctx, &fx, &plain, &template).await?;

    // Requests and capacity of every operation, then of a list page as other communities fill the table.
    say("requests and consumed capacity per operation");
    let counted = Counted::new(&args.endpoint, &table);
    let costs = costs::every_operation(&counted).await?;
    let growth =
        costs::list_page_growth(&args.sizes, &counted, &app_plain, &plain, &table, &template, &fx.community).await?;

    let md = report::write(args, &Figures { cold, warm, costs, growth })?;
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
}
