//! The `qrdesk` command: the service itself and the tools around it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use qrdesk::backend::{AssetId, DistrictId, LocationId};
use qrdesk::config::{BackendKind, Config};
use qrdesk::domain::codes::Code;
use qrdesk::ops;
use qrdesk::store::codes::{self as code_store, Target};
use qrdesk::{catalog, store, App};

mod labels_cmd;
use labels_cmd::labels;

#[derive(Parser)]
#[command(
    name = "qrdesk",
    version,
    about = "QR stickers on equipment that become tasks in HubEx, Bitrix24 or EvaTeam"
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
    /// Move an installation between databases.
    #[command(subcommand)]
    Db(DbCommand),
    /// A consistent copy of the SQLite database, taken while qrdesk runs,
    /// with the key files next to it (FILE.mail-link.key).
    Backup {
        /// Where the database copy goes; it must not exist yet.
        #[arg(long)]
        to: PathBuf,
    },
    /// Check the connection to the configured HubEx tenant, line by line,
    /// with what to fix. Exits 0 only when tasks can be created.
    Check {
        /// Also create one task (in the first allowed участок) to prove it.
        #[arg(long)]
        create_test_task: bool,
        /// Language of the report: ru or en.
        #[arg(long, default_value = "en")]
        lang: String,
    },
    /// Create, list and revoke sticker codes.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Staff accounts for the admin area.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// API tokens for integrations (shown once; only a hash is kept).
    #[command(subcommand)]
    Tokens(TokensCommand),
    /// Outgoing webhooks: create, list, remove endpoints.
    #[command(subcommand)]
    Webhooks(WebhooksCommand),
    /// Label templates, sheets, ZPL and posters.
    #[command(subcommand)]
    Labels(LabelsCommand),
    /// Run the HubEx simulator alone, with its demo tenant.
    HubexSim {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: String,
    },
    /// Run the Bitrix24 simulator alone, with its demo portal.
    #[command(name = "bitrix24-sim")]
    Bitrix24Sim {
        #[arg(long, default_value = "127.0.0.1:9001")]
        listen: String,
    },
    /// Run the EvaTeam simulator alone.
    #[command(name = "evateam-sim")]
    EvateamSim {
        #[arg(long, default_value = "127.0.0.1:9002")]
        listen: String,
    },
    /// qrdesk's own equipment catalog (for task systems without one, such
    /// as Bitrix24 and EvaTeam).
    #[command(subcommand)]
    Assets(AssetsCommand),
}

#[derive(Subcommand)]
enum AssetsCommand {
    /// Add one asset; its site and address are made when new.
    Create {
        #[arg(long)]
        name: String,
        /// The участок / site, by name.
        #[arg(long)]
        site: Option<String>,
        #[arg(long)]
        address: Option<String>,
        #[arg(long)]
        serial: Option<String>,
        #[arg(long)]
        inventory: Option<String>,
        /// Print {"id": N}.
        #[arg(long)]
        json: bool,
    },
    /// Add the assets of a CSV file (columns: name, site, address, serial,
    /// inventory; Russian headers too; `,` or `;`). Rows with errors are
    /// listed and skipped; with --dry-run nothing is stored.
    Import {
        file: PathBuf,
        #[arg(long)]
        dry_run: bool,
    },
}

#[derive(Subcommand)]
enum TokensCommand {
    /// Make a token and print it (the only time it can be seen).
    Create {
        /// What the token is for, e.g. "Интеграция с сайтом".
        #[arg(long)]
        description: String,
        /// admin (may change codes) or viewer (reads only).
        #[arg(long, default_value = "viewer")]
        role: String,
        #[arg(long)]
        json: bool,
    },
    /// Every token: id, role, its first characters, when made, last used, revoked.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id; it stops working at once.
    Revoke { id: i64 },
}

#[derive(Subcommand)]
enum WebhooksCommand {
    /// Add an endpoint and print its signing secret (shown only now).
    Create {
        /// Where deliveries are POSTed, e.g. https://example.ru/hooks/qrdesk.
        #[arg(long)]
        url: String,
        /// Comma-separated: request.accepted, request.delivered, request.failed,
        /// request.status_changed, request.commented, request.replied.
        #[arg(long)]
        events: String,
        /// A note for the list, e.g. "CRM".
        #[arg(long, default_value = "")]
        description: String,
        /// Send the customer's name, phone and e-mail too.
        #[arg(long)]
        include_contact: bool,
        #[arg(long)]
        json: bool,
    },
    /// Every endpoint: id, state, events, URL.
    List {
        #[arg(long)]
        json: bool,
    },
    /// Remove an endpoint, its queued deliveries and its log.
    Delete { id: i64 },
}

#[derive(Subcommand)]
enum DbCommand {
    /// Copy every table of one database into a new, empty one (both are
    /// migrated first), e.g. from SQLite to PostgreSQL. Stop qrdesk first.
    Copy {
        /// sqlite://path/to/qrdesk.db or postgres://user@host/db
        #[arg(long)]
        from: String,
        /// The database to fill; it must hold no data yet.
        #[arg(long)]
        to: String,
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

#[derive(Subcommand)]
enum AdminCommand {
    /// Create an account. The password is read from standard input when it is
    /// piped; otherwise one is generated and printed once.
    Create {
        #[arg(long)]
        email: String,
        /// owner, admin or viewer.
        #[arg(long, default_value = "admin")]
        role: String,
    },
}

#[derive(Subcommand)]
enum LabelsCommand {
    /// List the built-in templates.
    Templates {
        #[arg(long)]
        json: bool,
    },
    /// Write labels for codes as a PDF sheet (or roll) or as ZPL.
    Render(RenderArgs),
    /// Write a site poster (A4 or A5) for one code.
    Poster {
        #[arg(long)]
        code: String,
        #[arg(long, default_value = "a4")]
        size: String,
        /// Add English lines under the Russian ones.
        #[arg(long)]
        english: bool,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the one-page alignment test for a template.
    Align {
        #[arg(long)]
        template: String,
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Args)]
struct RenderArgs {
    #[arg(long)]
    template: String,
    /// Codes to print, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    codes: Vec<String>,
    /// Every active code.
    #[arg(long)]
    all: bool,
    /// Labels already used on the first sheet.
    #[arg(long, default_value_t = 0)]
    skip: usize,
    /// `pdf` or `zpl`.
    #[arg(long, default_value = "pdf")]
    format: String,
    /// ZPL resolution in dots per mm (8 = 203 dpi, 12 = 300 dpi).
    #[arg(long, default_value_t = 8)]
    dpmm: u32,
    /// Call to action printed on each label.
    #[arg(long)]
    cta: Option<String>,
    /// Smallest text printed, in points (4–10): what does not fit at it is
    /// cut with "…" and reported.
    #[arg(long, default_value_t = qrdesk::labels::layout::DEFAULT_MIN_PT)]
    min_pt: f32,
    /// Organisation name printed on each label; default: the one set in
    /// Settings → Кабинет.
    #[arg(long)]
    org: Option<String>,
    /// Printer calibration in mm; default: the offset saved for the template.
    #[arg(long, allow_hyphen_values = true)]
    offset_x: Option<f32>,
    #[arg(long, allow_hyphen_values = true)]
    offset_y: Option<f32>,
    #[arg(long)]
    out: PathBuf,
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
    // Everything qrdesk writes (the database, photos, backups, keys) holds
    // contacts or secrets: readable by this user alone.
    // SAFETY: umask only sets the process's file creation mask.
    #[cfg(unix)]
    unsafe {
        libc::umask(0o077);
    }
    // Buffers of 4 MB and more (photo bodies and decodes, argon2's 19 MiB)
    // are mapped and given back when freed. By default glibc raises this
    // threshold after each large free, so those buffers land in per-thread
    // heaps and stay: 20 photo uploads at once left the process 300 MB
    // larger. Below it (a compressor's few hundred KB, made for every
    // page) the heap reuses memory without a system call.
    // SAFETY: mallopt only tunes the allocator; called before any thread.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    }
    let cli = Cli::parse();
    // The log format is the one setting read before logging starts; a bad
    // configuration is reported by `run` as usual.
    let json = Config::load(cli.config.as_deref(), std::env::vars())
        .is_ok_and(|c| c.log.format == qrdesk::config::LogFormat::Json);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "info,sqlx=warn,hyper=warn".into());
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        logs.json().init();
    } else {
        logs.init();
    }
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
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => serve(config).await,
        Command::Backup { to } => backup(&config, &to).await,
        Command::Migrate => migrate(&config).await,
        Command::Db(DbCommand::Copy { from, to }) => db_copy(&from, &to).await,
        Command::Sync => sync(&config).await,
        Command::Check {
            create_test_task,
            lang,
        } => check(config, create_test_task, &lang).await,
        Command::Codes(cmd) => codes(config, cmd).await,
        Command::Tokens(cmd) => tokens(config, cmd).await,
        Command::Webhooks(cmd) => webhooks(config, cmd).await,
        Command::Labels(cmd) => labels(config, cmd).await,
        Command::Admin(AdminCommand::Create { email, role }) => {
            admin_create(config, &email, &role).await
        }
        Command::Assets(cmd) => assets(config, cmd).await,
        Command::Bitrix24Sim { listen } => bitrix24_sim(&listen).await,
        Command::EvateamSim { listen } => evateam_sim(&listen).await,
        Command::HubexSim { listen } => hubex_sim(&listen, config.hubex.sim_shape).await,
    }
}

/// Runs a simulator alone on `listen` until stopped, after printing how to
/// reach it.
async fn run_alone(
    listen: &str,
    start: impl FnOnce(tokio::net::TcpListener) -> Vec<String>,
) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    for line in start(listener) {
        println!("{line}");
    }
    shutdown_signal().await;
    Ok(())
}

/// `qrdesk assets`: the own catalog; refused while the catalog comes from HubEx.
async fn assets(config: Config, cmd: AssetsCommand) -> anyhow::Result<()> {
    if config.backend.kind == BackendKind::Hubex {
        anyhow::bail!(
            "with backend.kind = \"hubex\" the catalog is synced from HubEx: add equipment there and run `qrdesk sync`"
        );
    }
    let pool = store::open(&config.database_url(), 2).await?;
    match cmd {
        AssetsCommand::Create {
            name,
            site,
            address,
            serial,
            inventory,
            json,
        } => {
            let asset = catalog::own::validate(
                Some(&name),
                site.as_deref(),
                address.as_deref(),
                serial.as_deref(),
                inventory.as_deref(),
            )
            .map_err(|problems| {
                let lines: Vec<String> = problems
                    .iter()
                    .map(|p| format!("--{}: {}", p.field, p.en))
                    .collect();
                anyhow::anyhow!("{}", lines.join("; "))
            })?;
            let id = catalog::own::create(&pool, &asset).await?;
            if json {
                println!("{}", serde_json::json!({ "id": id.0 }));
            } else {
                println!("asset {id}: {}", asset.name);
            }
        }
        AssetsCommand::Import { file, dry_run } => {
            let preview = catalog::own::read_file(&file)?;
            for row in &preview.rows {
                if let Err(problems) = &row.result {
                    for p in problems {
                        eprintln!("  line {}: {}: {}", row.line, p.field, p.en);
                    }
                }
            }
            let (good, bad) = (preview.good().len(), preview.bad());
            if dry_run {
                println!("{good} rows can be added, {bad} have errors (nothing stored: --dry-run)");
            } else {
                let added = catalog::own::import(&pool, &preview).await?;
                println!("{added} assets added, {bad} rows with errors skipped");
            }
        }
    }
    Ok(())
}

/// `qrdesk check`: prints one line per item and exits 1 when a task could
/// not be created.
async fn check(config: Config, create_test_task: bool, lang: &str) -> anyhow::Result<()> {
    let lang =
        qrdesk::i18n::Lang::parse(lang).ok_or_else(|| anyhow::anyhow!("--lang: ru or en"))?;
    let backend = qrdesk::connect(&config, None, Default::default())
        .await?
        .backend;
    println!(
        "qrdesk check — {}: {}",
        backend.name(),
        config.backend_target().unwrap_or_else(|| format!(
            "the built-in simulator ({}.mode = \"simulator\")",
            config.backend.kind.section()
        ))
    );
    let report = backend.check(lang, create_test_task).await;
    for item in &report.items {
        if item.detail.is_empty() {
            println!("  {}  {}", item.verdict.label(), item.what);
        } else {
            println!("  {}  {}: {}", item.verdict.label(), item.what, item.detail);
        }
        if let Some(fix) = &item.fix {
            println!("        → {fix}");
        }
    }
    let ru = lang == qrdesk::i18n::Lang::Ru;
    if report.can_create {
        println!(
            "{}",
            if ru {
                "Итог: заявки могут создаваться."
            } else {
                "Result: tasks can be created."
            }
        );
        if !create_test_task {
            println!(
                "        {}",
                if ru {
                    "(заявка не создана; --create-test-task создаст проверочную)"
                } else {
                    "(no task was created; add --create-test-task to create one)"
                }
            );
        }
        Ok(())
    } else {
        println!(
            "{}",
            if ru {
                "Итог: заявки пока не могут создаваться — исправьте строки FAIL выше."
            } else {
                "Result: tasks cannot be created yet — fix the FAIL lines above."
            }
        );
        std::process::exit(1);
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let simulator = config.backend_target().is_none();
    let app = App::start(config.clone(), None).await?;
    println!("qrdesk is running at {}/", app.public_url);
    println!("Admin area: {}/admin", app.public_url);
    if simulator {
        let demo = demo_code(&app.pool, &config).await?;
        let addr = app.sim_addr.expect("simulator address");
        match config.backend.kind {
            BackendKind::Hubex => println!("HubEx simulator (demo tenant) at http://{addr}/fsm"),
            BackendKind::Bitrix24 => println!(
                "Bitrix24 simulator (demo portal): webhook {}, its tasks at http://{addr}/__sim/tasks",
                qrdesk::backend::bitrix24::sim::Simulator::webhook_url(addr)
            ),
            BackendKind::Evateam => println!(
                "EvaTeam simulator (demo installation): http://{addr}/api/, its tasks at http://{addr}/__sim/tasks"
            ),
        }
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
    let allowed = catalog::allowed_districts(pool, &config.catalog).await?;
    let Some(asset) = store::catalog::first_asset_in(pool, &allowed).await? else {
        return Ok(None);
    };
    let code = code_store::create(pool, Target::Asset(asset), None, store::now_ms()).await?;
    Ok(Some(code))
}

async fn admin_create(config: Config, email: &str, role: &str) -> anyhow::Result<()> {
    use qrdesk::admin::auth;
    use qrdesk::store::admins::{self, Role};
    use std::io::{BufRead, IsTerminal};
    let email = auth::normalise_email(email).context("not an e-mail address")?;
    let role = Role::parse(role).context("--role must be owner, admin or viewer")?;
    let stdin = std::io::stdin();
    let (password, generated) = if stdin.is_terminal() {
        (auth::generate_password(), true)
    } else {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        (line.trim_end_matches(['\r', '\n']).to_owned(), false)
    };
    if let Some(problem) = auth::password_problem(&password) {
        anyhow::bail!("{problem}");
    }
    let pool = store::open(&config.database_url(), 2).await?;
    let hash = auth::hash_blocking(password.clone()).await?;
    let now = store::now_ms();
    admins::create(&pool, &email, &hash, role, now)
        .await?
        .with_context(|| format!("an account for {email} already exists"))?;
    admins::audit(
        &pool,
        None,
        "user-add-cli",
        &format!("{email} {}", role.as_str()),
        now,
    )
    .await?;
    println!("created {} account {email}", role.as_str());
    if generated {
        println!("password (shown once): {password}");
    }
    Ok(())
}

/// The base URL codes are printed with when no server is running.
fn public_url(config: &Config) -> String {
    if config.server.public_url.is_empty() {
        format!("http://{}", config.server.listen)
    } else {
        config.server.public_url.trim_end_matches('/').to_owned()
    }
}

/// `qrdesk migrate`.
async fn migrate(config: &Config) -> anyhow::Result<()> {
    let pool = store::open(&config.database_url(), 1).await?;
    println!(
        "database is up to date ({}): {}",
        store::Engine::of(&pool).name(),
        store::redact_url(&config.database_url())
    );
    Ok(())
}

/// `qrdesk db copy`.
async fn db_copy(from: &str, to: &str) -> anyhow::Result<()> {
    let open = |url: String| async move {
        store::open(&url, 2)
            .await
            .with_context(|| format!("cannot open {}", store::redact_url(&url)))
    };
    let (source, target) = (open(from.to_owned()).await?, open(to.to_owned()).await?);
    let started = std::time::Instant::now();
    let copied = store::copy::copy(&source, &target, |table, n| {
        eprintln!("  {table}: {n} rows");
    })
    .await?;
    let rows: u64 = copied.iter().map(|(_, n)| n).sum();
    println!(
        "copied {rows} rows in {} tables from {} to {} in {:.1} s",
        copied.len(),
        store::redact_url(from),
        store::redact_url(to),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// `qrdesk sync`.
async fn sync(config: &Config) -> anyhow::Result<()> {
    let pool = store::open(&config.database_url(), 2).await?;
    let backend = qrdesk::connect(config, None, Default::default())
        .await?
        .backend;
    qrdesk::share_call_budget(&pool, backend.as_ref()).await?;
    let sync = catalog::sync(&pool, backend.as_ref(), &qrdesk::backend::NoProgress);
    let report = store::shared::once_at_a_time(&pool, "catalog sync", sync)
        .await?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "a qrdesk instance is syncing the catalog right now; try again when it is done"
            )
        })??;
    println!("catalog synced: {report}");
    Ok(())
}

/// `qrdesk bitrix24-sim`.
async fn bitrix24_sim(listen: &str) -> anyhow::Result<()> {
    use qrdesk::backend::bitrix24::sim::Simulator;
    run_alone(listen, |listener| {
        let addr = Simulator::new().spawn(listener);
        vec![
            format!("Bitrix24 simulator: webhook URL {}", Simulator::webhook_url(addr)),
            format!("control: GET http://{addr}/__sim/tasks, POST http://{addr}/__sim/tasks/ID/status/5, POST http://{addr}/__sim/tasks/ID/reply"),
        ]
    })
    .await
}

/// `qrdesk evateam-sim`.
async fn evateam_sim(listen: &str) -> anyhow::Result<()> {
    use qrdesk::backend::evateam::sim::{Simulator, PROJECT, TOKEN};
    run_alone(listen, |listener| {
        let addr = Simulator::new().spawn(listener);
        vec![
            format!("EvaTeam simulator at http://{addr} (evateam.base_url)"),
            format!("token: {TOKEN} · project: {PROJECT}"),
            format!("control: GET http://{addr}/__sim/tasks, POST http://{addr}/__sim/tasks/SUP-000001/status/CLOSED, POST http://{addr}/__sim/tasks/SUP-000001/reply"),
        ]
    })
    .await
}

/// `qrdesk hubex-sim`.
async fn hubex_sim(listen: &str, shape: qrdesk::config::SimShape) -> anyhow::Result<()> {
    run_alone(listen, |listener| {
        let sim = qrdesk::backend::hubex::sim::Simulator::new();
        sim.set_shape(shape);
        let addr = sim.spawn(listener);
        vec![
            format!("HubEx simulator at http://{addr}/fsm"),
            format!("service token: {}", sim.service_token()),
            format!("control: POST http://{addr}/__sim/faults, GET http://{addr}/__sim/tasks"),
        ]
    })
    .await
}

async fn codes(config: Config, cmd: CodesCommand) -> anyhow::Result<()> {
    let pool = store::open(&config.database_url(), 2).await?;
    let public_url = public_url(&config);
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
            let simulator = config.backend_target().is_none();
            if simulator && store::catalog::asset_count(&pool).await? == 0 {
                if config.backend.kind == BackendKind::Hubex {
                    let (backend, _sim, _) = qrdesk::connect_backend(&config, None).await?;
                    catalog::sync(&pool, backend.as_ref(), &qrdesk::backend::NoProgress).await?;
                } else {
                    catalog::own::seed_demo(&pool).await?;
                }
            }
            let label = args.label.clone().filter(|l| !l.trim().is_empty());
            let code = ops::codes::create(
                &pool,
                &config.catalog,
                &ops::codes::Actor::cli(),
                target,
                label,
            )
            .await?;
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
                    .map(|c| qrdesk::api::code_json(c, &public_url))
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
            let actor = ops::codes::Actor::cli();
            let revoke = ops::codes::Command::Revoke;
            match ops::codes::run(&pool, &config.catalog, &actor, Some(&code), revoke).await {
                Ok(_) => println!("revoked {code}"),
                Err(ops::codes::Error::Refused(_)) => anyhow::bail!("no active code {code}"),
                Err(e) => return Err(e.into()),
            }
        }
    }
    Ok(())
}

async fn tokens(config: Config, cmd: TokensCommand) -> anyhow::Result<()> {
    use qrdesk::store::{api_tokens, ApiRole};
    let pool = store::open(&config.database_url(), 2).await?;
    let now = store::now_ms();
    match cmd {
        TokensCommand::Create {
            description,
            role,
            json,
        } => {
            let role = ApiRole::parse(&role)
                .ok_or_else(|| anyhow::anyhow!("--role: admin or viewer, not {role:?}"))?;
            let description = description.trim();
            anyhow::ensure!(
                (1..=200).contains(&description.chars().count()),
                "--description: say what the token is for, in 1 to 200 characters"
            );
            let (id, token) = api_tokens::create(&pool, description, role, now).await?;
            if json {
                let out =
                    serde_json::json!({"id": id, "token": token.expose(), "role": role.as_str()});
                println!("{out}");
            } else {
                println!("token {id} ({role}): {}", token.expose());
                eprintln!("This is the only time the token is shown: keep it now.");
            }
        }
        TokensCommand::List { json } => {
            let rows = api_tokens::list(&pool).await?;
            let time = |t: Option<i64>| t.map(store::rfc3339);
            if json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|t| {
                        serde_json::json!({
                            "id": t.id, "description": t.description, "role": t.role.as_str(),
                            "token_start": t.token_start, "created_at": time(Some(t.created_at)),
                            "updated_at": time(Some(t.updated_at)), "last_used_at": time(t.last_used_at),
                            "revoked_at": time(t.revoked_at),
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!("no tokens yet: qrdesk tokens create --description … --role viewer");
            } else {
                for t in rows {
                    let state = if t.revoked_at.is_some() {
                        "revoked"
                    } else {
                        "active"
                    };
                    println!(
                        "{:>4}  {:<6} {:<7} {}…  {}",
                        t.id, t.role, state, t.token_start, t.description
                    );
                }
            }
        }
        TokensCommand::Revoke { id } => {
            if api_tokens::revoke(&pool, id, now).await? {
                println!("revoked token {id}");
            } else {
                anyhow::bail!("no active token {id} (qrdesk tokens list shows them)");
            }
        }
    }
    Ok(())
}

/// `qrdesk backup --to FILE`: `VACUUM INTO` writes a consistent copy of the
/// live database (readers and writers go on meanwhile); the mail link key,
/// when there is one, is copied to `FILE.mail-link.key`.
async fn backup(config: &Config, to: &std::path::Path) -> anyhow::Result<()> {
    let url = config.database_url();
    anyhow::ensure!(
        store::Engine::of_url(&url) == store::Engine::Sqlite,
        "qrdesk backup copies SQLite databases; for PostgreSQL use pg_dump (see docs/operations.md)"
    );
    anyhow::ensure!(
        !to.exists(),
        "{} exists already: choose a new file name",
        to.display()
    );
    let pool = store::open(&url, 1).await?;
    let started = std::time::Instant::now();
    let target = to.to_str().context("the backup path must be valid UTF-8")?;
    // Made empty and private first: VACUUM INTO fills an empty file.
    store::create_private(to).with_context(|| format!("cannot create {}", to.display()))?;
    sqlx::query("VACUUM INTO $1")
        .bind(target)
        .execute(&pool)
        .await
        .with_context(|| format!("cannot write the backup to {}", to.display()))?;
    let size = std::fs::metadata(to).map(|m| m.len()).unwrap_or(0);
    println!(
        "database copied to {} ({} KB, {} ms)",
        to.display(),
        size / 1024,
        started.elapsed().as_millis()
    );
    let key =
        qrdesk::mail::link_key_path(&config.mail, std::path::Path::new(&config.server.data_dir));
    if key.exists() {
        let mut name = to.as_os_str().to_owned();
        name.push(".mail-link.key");
        let key_to = PathBuf::from(name);
        let bytes =
            std::fs::read(&key).with_context(|| format!("cannot read {}", key.display()))?;
        store::create_private(&key_to)
            .and_then(|_| std::fs::write(&key_to, bytes))
            .with_context(|| format!("cannot copy {} to {}", key.display(), key_to.display()))?;
        println!(
            "mail link key copied to {} (keep it apart from the database copy)",
            key_to.display()
        );
    }
    println!(
        "photos are files under {}/photos: copy that folder too (rsync or cp; files never change once written)",
        config.server.data_dir
    );
    Ok(())
}

async fn webhooks(config: Config, cmd: WebhooksCommand) -> anyhow::Result<()> {
    use qrdesk::store::webhooks as hooks;
    let pool = store::open(&config.database_url(), 2).await?;
    let now = store::now_ms();
    match cmd {
        WebhooksCommand::Create {
            url,
            events,
            description,
            include_contact,
            json,
        } => {
            let events = qrdesk::webhooks::parse_events([events.as_str()])
                .map_err(|e| anyhow::anyhow!("--events: {e}"))?;
            qrdesk::webhooks::check_url(&url, config.webhooks.allow_private_targets)
                .map_err(|e| anyhow::anyhow!("--url: {e}"))?;
            let settings = hooks::EndpointSettings {
                url: url.trim().to_owned(),
                description: description.trim().chars().take(200).collect(),
                events,
                include_contact,
                active: true,
            };
            let (id, secret) = hooks::create(&pool, &settings, now).await?;
            if json {
                println!("{}", serde_json::json!({"id": id, "secret": secret}));
            } else {
                println!("webhook {id}: {secret}");
                eprintln!("This is the only time the secret is shown: keep it now.");
            }
        }
        WebhooksCommand::List { json } => {
            let rows = hooks::list(&pool).await?;
            if json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|w| {
                        serde_json::json!({
                            "id": w.id, "url": w.url, "description": w.description,
                            "events": w.event_list().iter().map(|e| e.as_str()).collect::<Vec<_>>(),
                            "include_contact": w.includes_contact(), "active": w.is_active(),
                            "disabled_reason": w.disabled_reason,
                        })
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&rows)?);
            } else if rows.is_empty() {
                println!(
                    "no webhooks yet: qrdesk webhooks create --url … --events request.accepted"
                );
            } else {
                for w in rows {
                    let state = if w.is_active() { "active" } else { "off" };
                    println!("{:>4}  {:<6} {}  {}", w.id, state, w.events, w.url);
                }
            }
        }
        WebhooksCommand::Delete { id } => {
            if hooks::delete(&pool, id).await? {
                println!("removed webhook {id}");
            } else {
                anyhow::bail!("no webhook {id} (qrdesk webhooks list shows them)");
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
