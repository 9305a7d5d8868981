//! `BENCHMARKS.md` from the figures measured: one function a section, in the order they appear (the header, Cold
//! start, Warm latency, DynamoDB requests and consumed capacity with the list page as the table grows, Size and
//! memory, Targets). Separate from the measuring so the page's text reads in one place and nothing here waits on
//! DynamoDB or a process; only the binary sizes and the machine are read here, from the disk and `/proc`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Duration;

use crate::costs::{Cost, Growth, capacity_text, costs_table, handshake_units};
use crate::functions::{ColdRuns, WarmRuns};
use crate::stats::{Summary, ms, ratio};
use crate::{Args, BENCH_TENANT_BUDGET, CREATE, GET};

/// Everything the report is written from, in the order it was measured.
pub struct Figures {
    pub cold: ColdRuns,
    pub warm: WarmRuns,
    pub costs: Vec<Cost>,
    pub growth: Vec<Growth>,
}

/// The whole page.
pub fn write(args: &Args, figures: &Figures) -> Result<String, String> {
    let cold = Cold::of(&figures.cold)?;
    let mut md = String::new();
    let w = &mut md;
    header(w, args);
    cold_start(w, args, &cold);
    let warm_rows = warm_latency(w, args, &figures.warm)?;
    requests_and_capacity(w, &figures.costs);
    list_page_growth(w, &figures.growth);
    let sizes = size_and_memory(w, args);
    targets(w, &cold, &warm_rows, &sizes, &figures.costs, &figures.growth);
    Ok(md)
}

/// The summaries of the cold starts, which the Cold start section and the Targets both read.
struct Cold {
    get: Summary,
    create: Summary,
    bundle_get: Option<Summary>,
    bundle_create: Option<Summary>,
    python: Option<Summary>,
}

impl Cold {
    fn of(runs: &ColdRuns) -> Result<Self, String> {
        let cold = |v: &[Duration]| Summary::of(v).ok_or_else(|| "no samples".to_owned());
        let (cg, cc) = (cold(&runs.get)?, cold(&runs.create)?);
        let cp = runs.python.as_deref().map(cold).transpose()?;
        let bg = runs.bundle_get.as_deref().map(cold).transpose()?;
        let bc = runs.bundle_create.as_deref().map(cold).transpose()?;
        Ok(Cold { get: cg, create: cc, bundle_get: bg, bundle_create: bc, python: cp })
    }
}

/// A row of the warm latency table, for the Targets: the operation, rsvp's and the raw calls' summaries, and the
/// peak RSS in KiB.
type WarmRow = (&'static str, Summary, Summary, Option<u64>);

/// One binary's sizes in MB: the operation, native and arm64 (`None` where not built).
type Size = (&'static str, Option<f64>, Option<f64>);

/// The title, where the figures come from, and the settings they were taken under.
fn header(w: &mut String, args: &Args) {
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
}

fn cold_start(w: &mut String, args: &Args, cold: &Cold) {
    let Cold { get: cg, create: cc, bundle_get: bg, bundle_create: bc, python: cp } = *cold;
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
}

/// The warm latency table; its rows again, for the Targets.
fn warm_latency(w: &mut String, args: &Args, warm: &WarmRuns) -> Result<Vec<WarmRow>, String> {
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
        ("get_community_invitation", "BatchGetItem (membership + invitation)", &warm.get),
        (
            "create_community_invitation",
            "BatchGetItem (membership + community), BatchGetItem (settings + suppression), 2 UpdateItem (day counts), \
             TransactWriteItems (invitation + lock + counter)",
            &warm.create,
        ),
        ("list_community_invitations (20 a page)", "GetItem (membership) ∥ Query (GSI1)", &warm.list),
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
    Ok(warm_rows)
}

fn requests_and_capacity(w: &mut String, costs: &[Cost]) {
    let _ = writeln!(w, "\n## DynamoDB requests and consumed capacity\n");
    let _ = writeln!(
        w,
        "Each operation run once in-process over a `DynamoStore` whose client counts HTTP requests and sums the `ConsumedCapacity` DynamoDB Local reports (`ReturnConsumedCapacity=TOTAL` set on every request). Capacity is in read/write units as DynamoDB Local computes them.\n"
    );
    costs_table(w, costs);
}

/// The subsection of the one above: a list page's cost and latency at each table size.
fn list_page_growth(w: &mut String, growth: &[Growth]) {
    let _ = writeln!(w, "\n### A list page as the table grows\n");
    let _ = writeln!(
        w,
        "`list_community_invitations` (first page of 20, of a community with 31 invitations) with other communities' invitations seeded by BatchWriteItem; latency in-process, 50 calls.\n"
    );
    let _ = writeln!(
        w,
        "| invitations of other communities | requests | capacity units | items returned | median ms | p99 ms |\n|---:|---:|---:|---:|---:|---:|"
    );
    for Growth { size, cost, items, times: t } in growth {
        let _ = writeln!(
            w,
            "| {size} | {} | {} | {items} | {} | {} |",
            cost.tally.requests,
            capacity_text(&cost.tally),
            ms(t.median),
            ms(t.p99)
        );
    }
}

/// The binary sizes table; its rows again, for the Targets.
fn size_and_memory(w: &mut String, args: &Args) -> Vec<Size> {
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
    sizes
}

/// Each of the project's performance targets, met or missed.
fn targets(w: &mut String, cold: &Cold, warm_rows: &[WarmRow], sizes: &[Size], costs: &[Cost], growth: &[Growth]) {
    let Cold { get: cg, create: cc, python: cp, .. } = *cold;
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
    for (label, f, raw, _) in warm_rows {
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
    let units = handshake_units(costs);
    let _ = writeln!(
        w,
        "| a full handshake ≤ 22 capacity units | {} | {} |",
        units.map_or_else(|| "not reported".to_owned(), |u| format!("{u:.1}")),
        verdict(units.is_some_and(|u| u <= 22.0))
    );
    let flat = growth.windows(2).all(|p| {
        p[0].cost.tally.requests == p[1].cost.tally.requests && p[0].cost.tally.capacity == p[1].cost.tally.capacity
    });
    let _ = writeln!(
        w,
        "| a page's cost does not grow with the table | {} | {} |",
        if flat { "constant" } else { "grows" },
        verdict(flat)
    );
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
