//! A server in a child process, for the tests that kill it (`kill -9`) and look at what it left: the child is the
//! test binary itself, running only the calling test, which finds `variable` set and plays the server
//! ([`serve_until_killed`]) instead of the test.

use std::path::Path;
use std::time::Duration;

use tokio::io::AsyncBufReadExt as _;

use super::Builder;

/// What the child prints, on a line of its own, before its URL.
const LISTENING: &str = "rsvp-test-server-listening";

/// The child's part: starts the server `app` describes, prints where it listens, and serves until killed.
pub async fn serve_until_killed(app: Builder) {
    let app = app.spawn().await;
    // After a newline: the harness's `test <name> ... ` starts the line it prints on.
    println!("\n{LISTENING} {}", app.url);
    std::future::pending::<()>().await;
}

/// This test binary again, running only `test` (its name as `--list` shows it) with `variable` set to `dir`; the
/// process (killed when dropped) and the URL it serves on.
pub async fn spawn(test: &str, variable: &str, dir: &Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(std::env::current_exe().expect("the test binary"))
        .args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .env(variable, dir)
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the child server");
    let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("its output")).lines();
    let url = tokio::time::timeout(Duration::from_secs(30), async {
        while let Some(line) = lines.next_line().await.expect("read its output") {
            if let Some((_, url)) = line.split_once(LISTENING) {
                return url.trim().to_owned();
            }
        }
        panic!("the child server stopped before it listened (is {test} the test's name?)");
    })
    .await
    .expect("the child server listens within 30 s");
    // Keep reading its output so that it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}
