//! Every function in one binary: the deployment's one build (`scripts/build`).
//!
//! Each of the stack's functions is its own Lambda, with its own role, routes and settings, but they all run this
//! one `bootstrap`: the function's `Handler` in `template.yaml` names which one it is (its crate's name,
//! `create-community`, `deliver-emails`, …), and Lambda hands the Handler to a custom runtime as `_HANDLER`. One
//! binary is one link of the shared code instead of one per function: built for all functions in minutes rather
//! than most of an hour on a small machine (BENCHMARKS.md). The crates under `functions/` stay the way to build,
//! run and invoke one function alone (`cargo lambda watch`, `cargo lambda invoke`).

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let handler = std::env::var("_HANDLER").unwrap_or_default();
    rsvp::lambda::run_function(&handler).await
}
