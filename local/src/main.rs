//! `rsvp-local`: serve rsvp on one port, or print a bearer token that server accepts.

use std::error::Error;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use rsvp::app::{App, Config};
use rsvp::domain::collaboration::PortalUrl;
use rsvp::domain::{Email, Role, TenantId, UserId};
use rsvp::portal_keys::HttpPortalKeys;
use rsvp::seal::AesSealer;
use rsvp::sign::LocalSigner;
use rsvp::store::sqlite::SqliteStore;
use rsvp_local::token::now_epoch_seconds;
use rsvp_local::{Server, SigningKey, TokenClaims};
use tokio::net::TcpListener;

type Failure = Box<dyn Error>;

#[derive(Parser)]
#[command(name = "rsvp-local", version, about = "rsvp on a laptop: every route on one port, with local tokens.")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every operation on one port, keeping data in the data directory.
    Serve(ServeArgs),
    /// Print a bearer token that `serve` accepts (with the same data directory).
    Token(TokenArgs),
    /// Register an OAuth client (client credentials) whose tokens `serve` mints at /identity/connect/token, and
    /// print its id and secret. Local only: in AWS the operator's identity provider does this.
    Client(ClientArgs),
}

#[derive(Args)]
struct ServeArgs {
    #[arg(long, default_value_t = 3000)]
    port: u16,
    /// An address or host name to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Holds the store (rsvp.db; a store.json of an earlier version is imported once), the token signing key, the
    /// outbox key and the outbox; made if missing.
    #[arg(long, default_value = ".rsvp")]
    data_dir: PathBuf,
    /// Base URL of invitation links; defaults to RSVP_PUBLIC_URL, else the listening URL.
    #[arg(long, value_parser = parse_public_url)]
    public_url: Option<String>,
    /// Where invitation emails are written as .eml files (one line each is printed); default <data-dir>/outbox.
    #[arg(long)]
    outbox: Option<PathBuf>,
    /// Makes this server a portal at this https URL (the collaboration routes); its id, name and signing key are
    /// made on first start and kept in the data directory.
    #[arg(long, value_parser = parse_portal_url)]
    portal_url: Option<PortalUrl>,
    /// Serve HTTPS with a self-signed certificate, made on first start and kept in <data-dir>/tls.pem (for
    /// clients that only speak HTTPS, such as Esri's ArcGIS API for Python); plain HTTP without it.
    #[arg(long)]
    tls: bool,
    /// For tests only: also trust the certificates in this PEM file (another local portal's <data-dir>/tls.pem)
    /// when fetching another portal's key from its portals/self. Repeat for more. Never needed for real portals,
    /// whose certificates the platform's roots already trust; the Lambda functions have no such setting.
    #[arg(long = "trust-cert", value_name = "PEM_FILE")]
    trust_certs: Vec<PathBuf>,
    /// POST every event (docs/events/) to this http(s) URL, signed per Standard Webhooks with the secret in
    /// <data-dir>/webhook-secret (made on first start); events always go to <data-dir>/events.jsonl as well.
    #[arg(long, value_name = "URL")]
    webhook: Option<url::Url>,
}

#[derive(Args)]
struct TokenArgs {
    #[command(flatten)]
    who: Identity,
    /// The user id; defaults to the email address.
    #[arg(long, value_parser = parse_sub)]
    sub: Option<String>,
    /// Mint the token with `email_verified: false`: rsvp then does not count the address as the caller's.
    #[arg(long)]
    unverified_email: bool,
    /// How long the token is valid.
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(i64).range(1..=24 * 366))]
    hours: i64,
}

#[derive(Args)]
struct ClientArgs {
    #[command(flatten)]
    who: Identity,
}

/// Whom a token (or a client's tokens) acts as, and the data folder whose key signs them: what `token` and
/// `client` share, checked alike.
#[derive(Args)]
struct Identity {
    #[arg(long, value_parser = parse_tenant)]
    tenant: String,
    /// The caller's address.
    #[arg(long, value_parser = parse_email)]
    email: String,
    /// TenantAdministrator, TenantMember or PortalAdministrator; repeat for more than one.
    #[arg(long = "role", value_name = "ROLE", required = true, value_parser = parse_role)]
    roles: Vec<String>,
    /// The tenant's display name (`tenant_name` claim): one line of plain text.
    #[arg(long, value_parser = parse_tenant_name)]
    tenant_name: Option<String>,
    #[arg(long, default_value = ".rsvp")]
    data_dir: PathBuf,
}

#[tokio::main]
async fn main() -> ExitCode {
    let result = match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Token(args) => token(args),
        Command::Client(args) => client(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("rsvp-local: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(args: ServeArgs) -> Result<(), Failure> {
    rsvp::lambda::init_tracing();
    std::fs::create_dir_all(&args.data_dir).map_err(|e| in_dir(&args.data_dir, e))?;
    let store = Arc::new(open_store(&args.data_dir)?);
    // Link secrets wait for their email sealed with a key of this data directory, as KMS seals them in AWS.
    let sealer = Arc::new(AesSealer::load_or_create(&args.data_dir).map_err(|e| in_dir(&args.data_dir, e))?);
    let outbox = args.outbox.clone().unwrap_or_else(|| args.data_dir.join("outbox"));
    rsvp_local::mail::start(&store, sealer.clone(), &outbox)
        .map_err(|e| format!("outbox {}: {e}", outbox.display()))?;
    let webhook = match args.webhook {
        Some(url) => {
            Some(rsvp_local::events::Webhook::new(url, &args.data_dir).map_err(|e| in_dir(&args.data_dir, e))?)
        }
        None => None,
    };
    let events_to = webhook.as_ref().map(|w| format!(" and POSTed to {}", w.url)).unwrap_or_default();
    rsvp_local::events::start(&store, &args.data_dir, webhook).map_err(|e| in_dir(&args.data_dir, e))?;
    let key = SigningKey::load_or_create(&args.data_dir).map_err(|e| in_dir(&args.data_dir, e))?;
    let tls = if args.tls {
        Some(rsvp_local::tls::load_or_create(&args.data_dir, &args.host).map_err(|e| in_dir(&args.data_dir, e))?)
    } else {
        None
    };
    let listener = listen(&args.host, args.port).await?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}", listener.local_addr()?);
    let config = Config::from_env()?;
    let public_url = args.public_url.or(config.public_url.clone()).unwrap_or_else(|| url.clone());
    let mut config = Config { public_url: Some(public_url), ..config };
    // A portal's signing key stays in the data directory, as it stays in KMS in AWS.
    let signer = Arc::new(LocalSigner::load_or_create(&args.data_dir).map_err(|e| in_dir(&args.data_dir, e))?);
    if let Some(url) = args.portal_url {
        let portal = rsvp_local::portal::load_or_create(&args.data_dir, url).map_err(|e| in_dir(&args.data_dir, e))?;
        println!("portal {} ({}) at {}", portal.id, portal.name, portal.url);
        config.portal = Some(portal);
    }
    let portal_keys = portal_keys(&args.trust_certs)?;
    let app = Arc::new(
        App::new(store, config).with_sealer(sealer).with_signer(signer).with_portal_keys(Arc::new(portal_keys)),
    );
    let mut server = Server::from_listener(listener, app, key)?.with_clients(args.data_dir.clone());
    if let Some(acceptor) = tls {
        server = server.with_tls(acceptor);
    }
    println!("rsvp listening on {url}; invitation emails go to {}", outbox.display());
    println!("local identity provider at {url}/identity (register clients with `rsvp-local client`)");
    println!("events go to {}{events_to}", args.data_dir.join(rsvp_local::events::EVENTS_FILE).display());
    server.run_until(shutdown_signal()).await?;
    Ok(())
}

/// The fetcher of other portals' keys, as in AWS, plus the test-only roots of `--trust-cert`.
fn portal_keys(trusted: &[PathBuf]) -> Result<HttpPortalKeys, Failure> {
    if trusted.is_empty() {
        return Ok(HttpPortalKeys::new()?);
    }
    let mut pem = Vec::new();
    for file in trusted {
        let bytes = std::fs::read(file).map_err(|e| format!("--trust-cert {}: {e}", file.display()))?;
        if bytes.len() > 1024 * 1024 {
            return Err(format!("--trust-cert {}: larger than 1 MiB", file.display()).into());
        }
        pem.extend_from_slice(&bytes);
        pem.push(b'\n');
    }
    println!("trusting {} extra root certificate file(s) for other portals' keys (test only)", trusted.len());
    Ok(HttpPortalKeys::with_extra_roots(&pem)?)
}

/// The data folder's SQLite store (`rsvp.db`), with what an earlier version kept in `store.json` imported into it
/// once (the file is then renamed `store.json.imported`).
fn open_store(data_dir: &Path) -> Result<SqliteStore, Failure> {
    let file = data_dir.join(STORE_FILE);
    let store = SqliteStore::open(&file).map_err(|e| format!("opening {}: {e}", file.display()))?;
    let legacy = data_dir.join(LEGACY_STORE_FILE);
    if let Some(imported) =
        store.import_memory_file(&legacy).map_err(|e| format!("importing {}: {e}", legacy.display()))?
    {
        println!(
            "imported {} items of {} into {} (the file is kept as {})",
            imported.items,
            legacy.display(),
            file.display(),
            imported.renamed_to.display()
        );
    }
    Ok(store)
}

/// The store's file in the data folder.
const STORE_FILE: &str = "rsvp.db";
/// Where versions before the SQLite store kept everything.
const LEGACY_STORE_FILE: &str = "store.json";

fn token(args: TokenArgs) -> Result<(), Failure> {
    let who = args.who;
    let key = SigningKey::load_or_create(&who.data_dir).map_err(|e| in_dir(&who.data_dir, e))?;
    let roles: Vec<&str> = who.roles.iter().map(String::as_str).collect();
    let mut claims = TokenClaims::new(&who.tenant, &who.email, &roles);
    claims.sub = args.sub.unwrap_or(claims.sub);
    claims.tenant_name = who.tenant_name;
    claims.email_verified = !args.unverified_email;
    claims.exp = now_epoch_seconds() + args.hours * 3600;
    println!("{}", key.mint(&claims));
    Ok(())
}

fn client(args: ClientArgs) -> Result<(), Failure> {
    let who = args.who;
    let registered =
        rsvp_local::identity::register(&who.data_dir, &who.tenant, &who.email, &who.roles, who.tenant_name)
            .map_err(|e| in_dir(&who.data_dir, e))?;
    // The secret is shown this once; only its hash is kept.
    println!("client_id: {}", registered.id);
    println!("client_secret: {}", registered.secret);
    Ok(())
}

/// Binds the first address `host` resolves to, so that `--host localhost` works as well as an address.
async fn listen(host: &str, port: u16) -> Result<TcpListener, Failure> {
    let addr: SocketAddr = tokio::net::lookup_host((host, port))
        .await
        .map_err(|e| format!("resolving --host {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("--host {host} resolves to no address"))?;
    Ok(TcpListener::bind(addr).await.map_err(|e| format!("listening on {addr}: {e}"))?)
}

/// Completes on Ctrl-C, or on SIGTERM where there is one (as `docker stop` and process managers send).
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn in_dir(dir: &Path, error: std::io::Error) -> String {
    format!("data directory {}: {error}", dir.display())
}

fn parse_public_url(value: &str) -> Result<String, String> {
    if value.starts_with("https://") || value.starts_with("http://") {
        Ok(value.trim_end_matches('/').to_owned())
    } else {
        Err("it must start with https:// or http://".into())
    }
}

fn parse_portal_url(value: &str) -> Result<PortalUrl, String> {
    PortalUrl::parse("--portal-url", value, false).map_err(|e| e.to_string())
}

fn parse_tenant(value: &str) -> Result<String, String> {
    TenantId::parse("the tenant", value).map(|t| t.to_string()).map_err(|e| e.to_string())
}

/// The normalised address, as the server will read it back from the token.
fn parse_email(value: &str) -> Result<String, String> {
    Email::parse(value).map(|e| e.as_str().to_owned()).map_err(|e| format!("not a valid email address: it {e}"))
}

fn parse_role(value: &str) -> Result<String, String> {
    Role::parse(value)
        .map(|_| value.to_owned())
        .ok_or_else(|| "not a role: use TenantAdministrator, TenantMember or PortalAdministrator".into())
}

fn parse_tenant_name(value: &str) -> Result<String, String> {
    // As rsvp reads the claim: a name it would drop (a line break, a bidirectional or invisible character) is
    // refused here rather than minted into a token that shows no name.
    rsvp::domain::one_line_text("a tenant name", value, 200).map_err(|e| e.to_string())
}

fn parse_sub(value: &str) -> Result<String, String> {
    UserId::parse("the subject", value).map(|u| u.as_str().to_owned()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;

    #[test]
    fn token_and_client_check_a_tenant_name_alike_and_as_rsvp_reads_the_claim() {
        for command in ["token", "client"] {
            let args = |name: &str| {
                let argv = [
                    "rsvp-local",
                    command,
                    "--tenant",
                    "acme",
                    "--email",
                    "admin@acme.example",
                    "--role",
                    "TenantAdministrator",
                    "--tenant-name",
                    name,
                ];
                Cli::try_parse_from(argv).map(|cli| match cli.command {
                    Command::Token(t) => t.who.tenant_name,
                    Command::Client(c) => c.who.tenant_name,
                    Command::Serve(_) => None,
                })
            };
            assert_eq!(args(" Acme Corp ").ok().flatten().as_deref(), Some("Acme Corp"), "{command}");
            for bad in ["Acme\nCorp", "Acme\u{202E}proC", "Ac\u{200B}me", ""] {
                assert!(args(bad).is_err(), "{command} took {bad:?}");
            }
        }
    }
}
