//! The `qrdesk` command: the service itself and the tools around it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use qrdesk::backend::{AssetId, DistrictId, LocationId};
use qrdesk::codes::Code;
use qrdesk::config::{Config, HubexMode};
use qrdesk::store::codes::{self as code_store, Target};
use qrdesk::{catalog, store, App};

#[derive(Parser)]
#[command(
    name = "qrdesk",
    version,
    about = "QR stickers on equipment that become HubEx tasks"
)]
struct Cli {
    /// Config file (default: config/default.toml when it exists).
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the service (the default).
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Pull the catalog from HubEx into the local database.
    Sync,
    /// Create, list and revoke sticker codes.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Run the HubEx simulator alone, with its demo tenant.
    HubexSim {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: String,
    },
}

#[derive(Subcommand)]
enum CodesCommand {
    /// Create a code for an asset, a location or a district (участок).
    Create(CreateArgs),
    /// List every code.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Turn a code off; its sticker then shows a "no longer in use" page.
    Revoke { code: String },
}

#[derive(Args)]
struct CreateArgs {
    #[arg(long, group = "target")]
    asset: Option<i64>,
    #[arg(long, group = "target")]
    location: Option<i64>,
    #[arg(long, group = "target")]
    district: Option<i64>,
    /// A code printed in advance and assigned later.
    #[arg(long, group = "target")]
    blank: bool,
    /// Text printed on the label under the QR.
    #[arg(long)]
    label: Option<String>,
    /// Print `{"code": …, "url": …}`.
    #[arg(long)]
    json: bool,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn,hyper=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("qrdesk: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref(), std::env::vars())?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Migrate => {
            store::open(&config.database_url(), 1).await?;
            println!("database is up to date: {}", config.database_url());
            Ok(())
        }
        Command::Sync => {
            let pool = store::open(&config.database_url(), 2).await?;
            let (backend, _sim, _) = qrdesk::connect_backend(&config, None).await?;
            let report = catalog::sync(&pool, backend.as_ref()).await?;
            println!("catalog synced: {report}");
            Ok(())
        }
        Command::Codes(cmd) => codes(config, cmd).await,
        Command::HubexSim { listen } => {
            let sim = qrdesk::backend::hubex::sim::Simulator::new();
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = sim.spawn(listener);
            println!("HubEx simulator at http://{addr}/fsm");
            println!("service token: {}", sim.service_token());
            println!("control: POST http://{addr}/__sim/faults, GET http://{addr}/__sim/tasks");
            shutdown_signal().await;
            Ok(())
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let simulator = config.hubex.mode == HubexMode::Simulator;
    let app = App::start(config.clone(), None).await?;
    println!("qrdesk is running at {}/", app.public_url);
    if simulator {
        let demo = demo_code(&app.pool, &config).await?;
        println!(
            "HubEx simulator (demo tenant) at http://{}/fsm",
            app.sim_addr.expect("simulator address")
        );
        if let Some(code) = demo {
            println!("Demo form:    {}", code.url(&app.public_url));
            println!("Its QR image: {}/q/{}.svg", app.public_url, code);
        }
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    app.stop().await;
    Ok(())
}

/// In simulator mode: the first code, made for a demo asset on first start.
async fn demo_code(pool: &store::Pool, config: &Config) -> anyhow::Result<Option<Code>> {
    if let Some(existing) = code_store::list(pool).await?.into_iter().next() {
        return Ok(Some(existing.code));
    }
    let allowed = catalog::allowed_districts(pool, &config.hubex).await?;
    let Some(asset) = store::catalog::first_asset_in(pool, &allowed).await? else {
        return Ok(None);
    };
    let code = code_store::create(pool, Target::Asset(asset), None, store::now_ms()).await?;
    Ok(Some(code))
}

async fn codes(config: Config, cmd: CodesCommand) -> anyhow::Result<()> {
    let pool = store::open(&config.database_url(), 2).await?;
    let public_url = if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    };
    match cmd {
        CodesCommand::Create(args) => {
            let target = match (args.asset, args.location, args.district, args.blank) {
                (Some(id), ..) => Target::Asset(AssetId(id)),
                (_, Some(id), ..) => Target::Location(LocationId(id)),
                (_, _, Some(id), _) => Target::District(DistrictId(id)),
                (.., true) => Target::Unassigned,
                _ => anyhow::bail!(
                    "say what the code is for: --asset ID, --location ID, --district ID or --blank"
                ),
            };
            // A fresh demo database has no catalog yet: the simulator fills it.
            if config.hubex.mode == HubexMode::Simulator
                && store::catalog::asset_count(&pool).await? == 0
            {
                let (backend, _sim, _) = qrdesk::connect_backend(&config, None).await?;
                catalog::sync(&pool, backend.as_ref()).await?;
            }
            catalog::check_target(&pool, &config.hubex, target).await?;
            let code =
                code_store::create(&pool, target, args.label.as_deref(), store::now_ms()).await?;
            if args.json {
                println!(
                    "{}",
                    serde_json::json!({ "code": code.as_str(), "url": code.url(&public_url) })
                );
            } else {
                println!("{}  {}", code, code.url(&public_url));
            }
        }
        CodesCommand::List { json } => {
            let list = code_store::list(&pool).await?;
            if json {
                let rows: Vec<_> = list
                    .iter()
                    .map(|c| {
                        let (kind, id) = c.target.parts();
                        serde_json::json!({
                            "code": c.code.as_str(), "url": c.code.url(&public_url), "target": kind,
                            "target_id": id, "state": format!("{:?}", c.state).to_lowercase(),
                            "label": c.label, "scans": c.scan_count,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else {
                for c in list {
                    let (kind, id) = c.target.parts();
                    let id = id.map(|i| i.to_string()).unwrap_or_default();
                    let state = format!("{:?}", c.state).to_lowercase();
                    println!(
                        "{}  {:<10} {:<9} {:<8} {}",
                        c.code,
                        state,
                        kind,
                        id,
                        c.code.url(&public_url)
                    );
                }
            }
        }
        CodesCommand::Revoke { code } => {
            let code =
                Code::parse(&code).context("not a code: 8 letters and digits, e.g. 7K3M9Q2A")?;
            if code_store::revoke(&pool, &code).await? {
                println!("revoked {code}");
            } else {
                anyhow::bail!("no active code {code}");
            }
        }
    }
    Ok(())
}

/// SIGTERM (from a container runtime or systemd) or Ctrl-C.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
