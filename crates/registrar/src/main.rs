//! `registrar`: one binary, several roles (serve, migrate, demo, admin, catalog).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use domain::catalog::import;
use store::catalog::write::{Mode, apply};
use store::{PoolSize, Store};
use tokio::sync::{Notify, watch};

use registrar::config::{Config, LogFormat};
use registrar::seed;
use services::schedules::Declared;

#[derive(Parser)]
#[command(
    name = "registrar",
    version,
    about = "MITx Pro and MITx Online in one Rust system: catalog, catalog APIs and operations."
)]
struct Cli {
    /// TOML settings file; REGISTRAR_* environment variables and DATABASE_URL override it.
    #[arg(long, global = true, env = "REGISTRAR_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate the database, then serve HTTP until SIGTERM or Ctrl-C.
    Serve {
        /// Listen address, overriding the `bind` setting.
        #[arg(long)]
        bind: Option<std::net::SocketAddr>,
        /// Serve HTTP only: run no job worker or scheduler in this process.
        #[arg(long)]
        no_worker: bool,
    },
    /// Run the job worker and the scheduler only (no HTTP) until SIGTERM or Ctrl-C.
    Worker,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run the embedded demo: a SQLite database under ./registrar-data/, seeded with a
    /// realistic catalog on first start, served on 127.0.0.1.
    Demo {
        /// Port to serve on.
        #[arg(long, default_value_t = 8000)]
        port: u16,
    },
    /// Administrative tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Print a C4 dynamic diagram of the data flows this deployment has enabled.
    Flows {
        /// Diagram language.
        #[arg(long, value_enum, default_value_t = DiagramFormat::Plantuml)]
        format: DiagramFormat,
        /// Include flows that are planned or switched off.
        #[arg(long)]
        all: bool,
    },
    /// Inspect and act on background jobs.
    Jobs {
        #[command(subcommand)]
        command: JobsCommand,
    },
    /// Move catalogs in and out.
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff API token for EMAIL and print it (shown once).
    CreateStaff {
        /// Who the token belongs to.
        email: String,
    },
    /// Let the account with EMAIL use the staff area when signed in (or, with --revoke,
    /// no longer).
    GrantStaff {
        email: String,
        #[arg(long)]
        revoke: bool,
    },
    /// Manage the OAuth2 applications (Open edX) that sign learners in through Registrar.
    OauthApp {
        #[command(subcommand)]
        command: OauthAppCommand,
    },
    /// The export-compliance screening log, sealed to an operator's key.
    ExportsInquiry {
        #[command(subcommand)]
        command: ExportsInquiryCommand,
    },
    /// Load MaxMind GeoLite2 Country CSVs, replacing the networks loaded before; tax then
    /// follows where the buyer connects from when that country has a rate.
    GeoipImport {
        /// GeoLite2-Country-Locations-en.csv
        #[arg(long)]
        locations: PathBuf,
        /// GeoLite2-Country-Blocks-IPv4.csv and/or -IPv6.csv (repeat the flag).
        #[arg(long = "blocks", required = true)]
        blocks: Vec<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ExportsInquiryCommand {
    /// Print a new key pair: the public key goes in `exports_inquiry_public_key`, the
    /// private key stays with whoever may read the log.
    Keygen,
    /// Print the request and response of one logged screening.
    Decrypt {
        /// The log entry's id (shown on the staff user page).
        id: i64,
        /// A file holding the base64 private key.
        #[arg(long = "private-key-file")]
        private_key_file: PathBuf,
    },
}

#[derive(Subcommand)]
enum OauthAppCommand {
    /// Register an application and print its client id and secret (the secret is shown once).
    Create {
        /// A name for people, e.g. "Open edX LMS".
        name: String,
        /// Allowed redirect URI (repeat for several), e.g.
        /// https://courses.example.edu/auth/complete/mitxpro-oauth2/
        #[arg(long = "redirect-uri", required = true)]
        redirect_uris: Vec<String>,
    },
    /// List registered applications.
    List,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DiagramFormat {
    Plantuml,
    Mermaid,
}

#[derive(Subcommand)]
enum JobsCommand {
    /// List jobs, newest first.
    List {
        /// Only jobs in this state: queued, running, failed, dead or succeeded.
        #[arg(long, value_parser = jobs::admin::STATES)]
        state: Option<String>,
        /// Only jobs of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: u64,
    },
    /// Print one job as JSON (payload and last error included).
    Show {
        /// Job id.
        id: i64,
    },
    /// Queue a dead (or retry-waiting) job again now, attempts reset.
    Retry {
        /// Job id.
        id: i64,
    },
    /// Stop a queued (or retry-waiting) job from running; it becomes dead.
    Cancel {
        /// Job id.
        id: i64,
    },
}

#[derive(Subcommand)]
enum CatalogCommand {
    /// Import catalog JSON: a Registrar export, or payloads of the originals' public APIs
    /// (xPRO /api/courses/ and /api/programs/, MITx Online /api/v2/courses/ and
    /// /api/v2/programs/ pages). Files are applied in order, each in one transaction.
    Import {
        /// Files to import.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print the whole catalog as Registrar JSON (ids and price history included).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Print a synthetic catalog as Registrar JSON (the demo seed, at any size).
    Generate {
        /// Number of courses.
        #[arg(long, default_value_t = 48)]
        courses: usize,
        /// Number of programs.
        #[arg(long, default_value_t = 12)]
        programs: usize,
    },
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .init(),
        LogFormat::Pretty => builder.init(),
    }
}

async fn open(config: &Config) -> Result<Store> {
    if let Some(path) = config.database_url.strip_prefix("sqlite://") {
        let file = path.split('?').next().unwrap_or(path);
        if let Some(dir) = std::path::Path::new(file)
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
        {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
    }
    let store = Store::connect(&config.database_url, PoolSize(config.pool_size))
        .await
        .with_context(|| {
            format!(
                "connecting to the database (setting `database_url`, {})",
                redact(&config.database_url)
            )
        })?;
    store.migrate().await.context("applying migrations")?;
    Ok(store)
}

/// The database URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            let user = credentials.split(':').next().unwrap_or("");
            format!("{}{user}:***{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

/// Turns true on SIGTERM or Ctrl-C.
fn stop_on_signal() -> watch::Receiver<bool> {
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        shutdown_signal().await;
        let _ = stop.send(true);
    });
    stopped
}

/// Starts this process's job worker and scheduler; they stop when `stopped` turns true,
/// running jobs first finishing (bounded).
fn background(
    config: &Config,
    store: &Store,
    schedules: &[Declared],
    peers: Peers,
    stopped: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    let Peers {
        screening,
        vendors,
        smtp,
        sheets,
    } = peers;
    let openedx = config.openedx_url.as_ref().map(|url| {
        Arc::new(integrations::openedx::OpenEdx::new(
            integrations::openedx::Config {
                base_url: url.clone(),
                client_id: config.openedx_client_id.clone(),
                client_secret: config.openedx_client_secret.expose().to_string(),
                social_login_path: config.openedx_social_login_path.clone(),
            },
        ))
    });
    let schedules: Vec<jobs::Schedule> = schedules.iter().map(|d| d.schedule.clone()).collect();
    let wake = Arc::new(Notify::new());
    let worker = jobs::Worker {
        db: store.db().clone(),
        registry: Arc::new(services::registry()),
        context: Arc::new(services::Context {
            store: store.clone(),
            site_url: config.base_url.clone(),
            mail_outbox: config.mail_outbox.clone(),
            openedx,
            compliance: screening,
            vendors,
            smtp,
            crm: crm(config),
            sheets,
            // Checked when the server started: a bad configuration never gets here.
            storefront: storefront(config).ok().flatten().map(Arc::new),
        }),
        settings: jobs::WorkerSettings::for_backend(
            store.db().get_database_backend(),
            config.worker_concurrency.max(1),
        ),
        // Claims are renewed by this name: a random part keeps a restarted container (same
        // hostname, same pid) from renewing the claims of the process that died.
        name: format!(
            "{}-{}-{}",
            hostname(),
            std::process::id(),
            &store::secret::new_token()[..8]
        ),
        wake: wake.clone(),
    };
    tracing::info!(
        concurrency = config.worker_concurrency,
        "job worker and scheduler started"
    );
    let scheduler = tokio::spawn(jobs::schedule::run(
        store.db().clone(),
        schedules,
        stopped.clone(),
        wake,
    ));
    tokio::spawn(async move {
        worker.run(stopped).await;
        let _ = scheduler.await;
    })
}

/// The demo's screening-log key pair, kept beside its mail outbox so logs stay readable
/// across restarts (`registrar admin exports-inquiry decrypt --private-key-file` that file);
/// the public half.
fn demo_inquiry_key(config: &Config) -> Result<String> {
    let file = config
        .mail_outbox
        .with_file_name("exports-inquiry-private-key");
    let private = match std::fs::read_to_string(&file) {
        Ok(private) => private,
        Err(_) => {
            let (_, private) = services::compliance::new_key_pair();
            if let Some(dir) = file.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&file, &private)
                .with_context(|| format!("writing {}", file.display()))?;
            private
        }
    };
    services::compliance::public_key_of(&private)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))
}

/// Registers the demo's simulated edX as an OAuth2 client of this Registrar, the way an
/// operator registers a real one with `registrar admin oauth-app create`.
async fn edx_signs_in_here(store: &Store, base: &str) -> Result<simulators::openedx::Provider> {
    let mut provider = simulators::openedx::Provider {
        registrar_url: base.to_string(),
        client_id: String::new(),
        client_secret: String::new(),
        public_url: format!("{base}/_simulators/openedx"),
    };
    let (app, secret) = store::oauth2::replace_application(
        store.db(),
        "edx-oauth-app (demo simulator)",
        &[provider.redirect_uri()],
        chrono::Utc::now(),
    )
    .await?;
    provider.client_id = app.client_id;
    provider.client_secret = secret;
    Ok(provider)
}

/// The simulated edX's webhooks: Registrar's URL and a token our OAuth2 provider issued to
/// a staff service account (`edx-service@example.edu`) for edX's application, as the
/// MITx Online deployment configures its Open edX plugins.
async fn edx_webhooks(
    store: &Store,
    base: &str,
    provider: &simulators::openedx::Provider,
) -> Result<simulators::openedx::Webhooks> {
    let db = store.db();
    let now = chrono::Utc::now();
    let email = domain::accounts::Email::parse("edx-service@example.edu")?;
    let account = match store::accounts::find_by_email(db, &email).await? {
        Some(account) => account,
        None => {
            store::accounts::create_user(
                db,
                store::accounts::NewUser {
                    email: &email,
                    username: &domain::accounts::Username::parse("edx_service")?,
                    name: "Open edX service",
                    password_hash: None,
                    address: &domain::accounts::LegalAddress {
                        first_name: "Open edX".into(),
                        last_name: "Service".into(),
                        country: "US".into(),
                        state: Some("US-MA".into()),
                    },
                    email_verified: true,
                    global_id: None,
                },
                now,
            )
            .await?
        }
    };
    let account = store::accounts::update(db, account, |u| u.is_staff = sea_orm::Set(true)).await?;
    let app = store::oauth2::find_application(db, &provider.client_id)
        .await?
        .context("the simulated edX's OAuth2 application")?;
    let tokens = store::oauth2::issue_tokens(db, app.id, account.id, now).await?;
    Ok(simulators::openedx::Webhooks {
        registrar_url: base.to_string(),
        access_token: tokens.access,
        refresh_token: tokens.refresh,
        client_id: provider.client_id.clone(),
        client_secret: provider.client_secret.clone(),
    })
}

/// The export-compliance screening, when configured; a partial configuration stops
/// start-up naming what is missing.
fn screening(config: &Config) -> Result<Option<Arc<services::compliance::Screening>>> {
    let Some(url) = &config.cybersource_export_url else {
        return Ok(None);
    };
    let missing = [
        (
            "cybersource_merchant_id",
            config.cybersource_merchant_id.is_empty(),
        ),
        (
            "cybersource_transaction_key",
            config.cybersource_transaction_key.is_empty(),
        ),
        (
            "exports_inquiry_public_key",
            config.exports_inquiry_public_key.is_none(),
        ),
    ];
    if let Some((name, _)) = missing.iter().find(|(_, absent)| *absent) {
        bail!("invalid configuration: cybersource_export_url is set, so `{name}` must be too");
    }
    let public_key = services::compliance::public_key(
        config
            .exports_inquiry_public_key
            .as_deref()
            .unwrap_or_default(),
    )
    .map_err(|e| anyhow::anyhow!("invalid configuration: exports_inquiry_public_key: {e}"))?;
    Ok(Some(Arc::new(services::compliance::Screening {
        service: integrations::cybersource::export::ExportService::new(
            integrations::cybersource::export::Config {
                url: url.clone(),
                merchant_id: config.cybersource_merchant_id.clone(),
                transaction_key: config.cybersource_transaction_key.expose().to_string(),
                address_operator: config.cybersource_export_address_operator.clone(),
                address_weight: config.cybersource_export_address_weight.clone(),
                name_weight: config.cybersource_export_name_weight.clone(),
                sanctions_lists: config.cybersource_export_sanctions_lists.clone(),
            },
        ),
        public_key,
        admin_email: config.admin_email.clone(),
    })))
}

/// How this deployment sells, when configured; a partial configuration stops start-up
/// naming what is missing.
fn storefront(config: &Config) -> Result<Option<services::commerce::Storefront>> {
    let Some(url) = &config.cybersource_secure_acceptance_url else {
        return Ok(None);
    };
    let missing = [
        (
            "cybersource_access_key",
            config.cybersource_access_key.as_str(),
        ),
        (
            "cybersource_profile_id",
            config.cybersource_profile_id.as_str(),
        ),
        (
            "cybersource_secret_key",
            config.cybersource_secret_key.expose(),
        ),
    ];
    if let Some((name, _)) = missing.iter().find(|(_, value)| value.is_empty()) {
        bail!(
            "invalid configuration: cybersource_secure_acceptance_url is set, so `{name}` must be too"
        );
    }
    if config.bulk_order_reference_prefix == config.order_reference_prefix {
        bail!(
            "invalid configuration: bulk_order_reference_prefix must differ from order_reference_prefix"
        );
    }
    Ok(Some(services::commerce::Storefront {
        base_url: config.base_url.clone(),
        reference_prefix: config.order_reference_prefix.clone(),
        bulk_reference_prefix: config.bulk_order_reference_prefix.clone(),
        environment: config.environment.clone(),
        currency: domain::money::DEFAULT_CURRENCY.to_string(),
        processor: services::commerce::Processor {
            url: url.clone(),
            access_key: config.cybersource_access_key.clone(),
            profile_id: config.cybersource_profile_id.clone(),
            secret_key: config.cybersource_secret_key.expose().to_string(),
        },
        refunds: (!config.cybersource_rest_key_id.is_empty()).then(|| {
            Arc::new(integrations::cybersource::refunds::Refunds::new(
                integrations::cybersource::refunds::Config {
                    base_url: config.cybersource_rest_url.clone(),
                    merchant_id: config.cybersource_merchant_id.clone(),
                    key_id: config.cybersource_rest_key_id.clone(),
                    shared_secret: config.cybersource_rest_shared_secret.expose().to_string(),
                },
            ))
        }),
        support_email: config.admin_email.clone(),
    }))
}

/// The schedules this deployment runs; a bad override stops start-up naming the setting.
fn schedules(config: &Config) -> Result<Vec<Declared>> {
    services::schedules::for_this_build(&config.schedules)
        .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "registrar".to_string())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
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
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}

/// The external systems this process's jobs talk to, as configured.
struct Peers {
    screening: Option<Arc<services::compliance::Screening>>,
    vendors: Option<Arc<services::vendors::VendorSync>>,
    smtp: Option<Arc<services::mail::Smtp>>,
    sheets: Option<Arc<services::sheets::Sheets>>,
}

impl Peers {
    fn of(config: &Config) -> Result<Self> {
        Ok(Peers {
            screening: screening(config)?,
            vendors: vendor_sync(config),
            smtp: smtp(config)?,
            sheets: sheets(config)?,
        })
    }
}

/// The demo's simulated enrollment-change and coupon request spreadsheets, and the folder
/// assignment spreadsheets are created in.
const DEMO_SPREADSHEET: &str = "enrollment-changes";
const DEMO_COUPON_SHEET: &str = "coupon-requests";
const DEMO_FOLDER: &str = "enrollment-codes";

/// A demo worksheet as xPRO's looks: a title and blank rows when there is room, the header
/// just above the first data row.
fn demo_sheet(title: &str, header: &[&str], first_row: usize) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    if first_row > 2 {
        rows.push(vec![title.to_string()]);
        rows.resize(first_row - 2, Vec::new());
    }
    rows.push(header.iter().map(|h| h.to_string()).collect());
    rows
}

/// The Google Sheets workflows, when a service account and a request spreadsheet are set.
fn sheets(config: &Config) -> Result<Option<Arc<services::sheets::Sheets>>> {
    let Some(key_file) = &config.google_service_account else {
        return Ok(None);
    };
    if config.sheets_enrollment_change_id.is_none() && config.sheets_coupon_request_id.is_none() {
        return Ok(None);
    }
    let key = std::fs::read_to_string(key_file)
        .with_context(|| format!("reading google_service_account {}", key_file.display()))?;
    let account: integrations::google::ServiceAccount = serde_json::from_str(&key)
        .context("google_service_account is not a service account key")?;
    let google = integrations::google::Google::new(
        account,
        integrations::google::Endpoints {
            sheets: config.google_sheets_url.clone(),
            drive: config.google_drive_url.clone(),
        },
    )
    .map_err(|e| anyhow::anyhow!("invalid configuration: google_service_account: {e}"))?;
    let worksheet = |spreadsheet: &Option<String>, title: &str, first_row: usize| {
        spreadsheet.as_ref().map(|id| services::sheets::Worksheet {
            spreadsheet: id.clone(),
            title: title.to_string(),
            first_row: first_row.max(1),
        })
    };
    let changes = &config.sheets_enrollment_change_id;
    Ok(Some(Arc::new(services::sheets::Sheets {
        refunds: worksheet(
            changes,
            &config.sheets_refund_worksheet,
            config.sheets_refund_first_row,
        ),
        deferrals: worksheet(
            changes,
            &config.sheets_deferral_worksheet,
            config.sheets_deferral_first_row,
        ),
        coupon_requests: worksheet(
            &config.sheets_coupon_request_id,
            &config.sheets_coupon_request_worksheet,
            config.sheets_coupon_request_first_row,
        ),
        output_folder: config.sheets_output_folder_id.clone(),
        admin_emails: config.sheets_admin_emails.clone(),
        webhook: config
            .sheets_webhook_token
            .clone()
            .map(|token| services::sheets::Webhook {
                address: format!(
                    "{}/api/sheets/watch/",
                    config.base_url.trim_end_matches('/')
                ),
                token: token.expose().to_string(),
            }),
        refund_client: storefront(config)?.and_then(|s| s.refunds),
        ..services::sheets::Sheets::new(google)
    })))
}

/// HubSpot, when a private-app token is set.
fn crm(config: &Config) -> Option<Arc<services::crm::Crm>> {
    config.hubspot_token.as_ref().map(|token| {
        Arc::new(services::crm::Crm {
            hubspot: integrations::hubspot::HubSpot::new(&config.hubspot_url, token.expose()),
            prefix: config.hubspot_id_prefix.clone(),
            pipeline: config.hubspot_pipeline_id.clone(),
            stages: config.hubspot_deal_stages.clone(),
            signup_form: config
                .hubspot_portal_id
                .clone()
                .zip(config.hubspot_signup_form_id.clone())
                .map(|(portal_id, form_id)| services::crm::SignUpForm {
                    url: config.hubspot_forms_url.clone(),
                    portal_id,
                    form_id,
                }),
        })
    })
}

/// The SMTP relay, when configured; a URL it cannot use stops start-up.
fn smtp(config: &Config) -> Result<Option<Arc<services::mail::Smtp>>> {
    config
        .smtp_url
        .as_deref()
        .map(|url| {
            services::mail::Smtp::new(url, &config.mail_from)
                .map(Arc::new)
                .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
        })
        .transpose()
}

/// The vendor catalog sync, when a report API is configured.
fn vendor_sync(config: &Config) -> Option<Arc<services::vendors::VendorSync>> {
    config.vendor_reports_url.as_ref().map(|url| {
        Arc::new(services::vendors::VendorSync {
            reports: integrations::vendor_reports::ReportApi::new(
                url,
                config.vendor_reports_api_key.expose(),
                config.vendor_reports_timeout_secs,
            ),
            recipients: config.vendor_sync_recipients.clone(),
        })
    })
}

/// Serves HTTP (with `extra` routes, the demo's simulators) until a signal.
async fn serve(
    config: &Config,
    store: Store,
    with_worker: bool,
    demo: bool,
    extra: axum::Router,
    on_ready: impl FnOnce(std::net::SocketAddr),
) -> Result<()> {
    let schedules = schedules(config)?;
    let stopped = stop_on_signal();
    let peers = Peers::of(config)?;
    let storefront = storefront(config)?;
    let onboarding = services::accounts::Onboarding {
        provision_openedx: config.openedx_url.is_some(),
        screen_exports: peers.screening.is_some(),
    };
    let (vendors, sheets, mail_by_smtp) = (
        peers.vendors.clone(),
        peers.sheets.clone(),
        peers.smtp.is_some(),
    );
    let background =
        with_worker.then(|| background(config, &store, &schedules, peers, stopped.clone()));
    let state = web::AppState::new(
        store,
        web::Settings {
            base_url: config.base_url.clone(),
            catalog_refresh: Duration::from_millis(config.catalog_refresh_ms),
            schedules,
            // Mail holds sign-in and reset links: only the demo shows the outbox.
            mail_outbox: (demo && !mail_by_smtp).then(|| config.mail_outbox.clone()),
            onboarding,
            storefront,
            gateway_proxies: config.gateway_trusted_proxies.clone(),
            vendors,
            sheets,
            mail_events_key: config
                .mailgun_webhook_signing_key
                .as_ref()
                .map(|k| k.expose().to_string()),
            metrics_token: config
                .metrics_token
                .as_ref()
                .map(|t| t.expose().to_string()),
            recaptcha: config
                .recaptcha_site_key
                .clone()
                .map(|site_key| web::Recaptcha {
                    verifier: Arc::new(integrations::recaptcha::Recaptcha::new(
                        integrations::recaptcha::Config {
                            verify_url: config.recaptcha_verify_url.clone(),
                            secret: config.recaptcha_secret.expose().to_string(),
                        },
                    )),
                    simulated: demo && site_key == simulators::recaptcha::SITE_KEY,
                    site_key,
                }),
        },
        web::system_clock(),
    );
    let listener = tokio::net::TcpListener::bind(config.bind)
        .await
        .with_context(|| format!("binding {} (setting `bind`)", config.bind))?;
    let address = listener.local_addr()?;
    tracing::info!(%address, "listening");
    on_ready(address);
    let mut http_stopped = stopped.clone();
    axum::serve(
        listener,
        web::router(state)
            .merge(extra)
            .into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async move {
        let _ = http_stopped.wait_for(|stop| *stop).await;
    })
    .await?;
    if let Some(background) = background {
        background.await?;
    }
    Ok(())
}

async fn import_files(store: &Store, files: &[PathBuf]) -> Result<()> {
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let (source, catalog) =
            import::parse(&text).with_context(|| format!("{}", file.display()))?;
        let report = services::catalog::save(store, &catalog, Mode::Import, chrono::Utc::now())
            .await
            .with_context(|| {
                format!(
                    "{} ({}): nothing was imported",
                    file.display(),
                    source.describe()
                )
            })?;
        println!(
            "{}: {} — courses {} new / {} updated, runs {} new / {} updated, programs {} new / {} updated, {} price versions",
            file.display(),
            source.describe(),
            report.courses_created,
            report.courses_updated,
            report.runs_created,
            report.runs_updated,
            report.programs_created,
            report.programs_updated,
            report.price_versions_added,
        );
        if !report.placeholders_created.is_empty() {
            println!(
                "  courses {:?} are referenced but not in the catalog yet: kept as unpublished placeholders until their course file is imported",
                report.placeholders_created
            );
        }
        for note in &report.ids_reassigned {
            println!("  new id given to {note}");
        }
    }
    Ok(())
}

async fn jobs_command(db: &sea_orm::DatabaseConnection, command: JobsCommand) -> Result<()> {
    use jobs::admin;
    let now = chrono::Utc::now();
    let (id, done, action) = match command {
        JobsCommand::List { state, kind, limit } => {
            for job in admin::list(db, state.as_deref(), kind.as_deref(), limit).await? {
                println!(
                    "{:>8}  {:<9}  {:<40}  {}/{}  {}  {}",
                    job.id,
                    job.state,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.run_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    job.last_error.unwrap_or_default()
                );
            }
            return Ok(());
        }
        JobsCommand::Show { id } => {
            let job = admin::show(db, id)
                .await?
                .with_context(|| format!("there is no job {id}"))?;
            println!("{}", serde_json::to_string_pretty(&job)?);
            return Ok(());
        }
        JobsCommand::Retry { id } => (id, admin::retry(db, id, now).await?, "retried"),
        JobsCommand::Cancel { id } => (id, admin::cancel(db, id, now).await?, "canceled"),
    };
    let job = admin::show(db, id)
        .await?
        .with_context(|| format!("there is no job {id}"))?;
    if !done {
        bail!("job {id} is {}; it cannot be {action}", job.state);
    }
    println!("job {id} {action}: now {}", job.state);
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let mut config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("registrar: invalid configuration\n{message}");
            std::process::exit(2);
        }
    };
    init_logging(config.log_format);
    match cli.command {
        Command::Serve { bind, no_worker } => {
            if let Some(bind) = bind {
                config.bind = bind;
            }
            let store = open(&config).await?;
            serve(
                &config,
                store,
                !no_worker,
                false,
                axum::Router::new(),
                |_| {},
            )
            .await
        }
        Command::Worker => {
            let schedules = schedules(&config)?;
            let store = open(&config).await?;
            background(
                &config,
                &store,
                &schedules,
                Peers::of(&config)?,
                stop_on_signal(),
            )
            .await?;
            Ok(())
        }
        Command::Flows { format, all } => {
            let schedules = schedules(&config)?;
            let declared = services::flows::all();
            let shown: Vec<&services::flows::Flow> = declared
                .iter()
                .filter(|f| all || services::flows::enabled(f, &schedules))
                .collect();
            print!(
                "{}",
                match format {
                    DiagramFormat::Plantuml => services::flows::plantuml(&shown),
                    DiagramFormat::Mermaid => services::flows::mermaid(&shown),
                }
            );
            Ok(())
        }
        Command::Migrate => {
            open(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo { port } => {
            config.bind = ([127, 0, 0, 1], port).into();
            if std::env::var("REGISTRAR_BASE_URL").is_err() {
                config.base_url = format!("http://127.0.0.1:{port}");
            }
            let store = open(&config).await?;
            if store::catalog::read::load(store.db())
                .await?
                .courses
                .is_empty()
            {
                let catalog = seed::synthetic_catalog(chrono::Utc::now(), 48, 12);
                let txn = store.write().await?;
                apply(&txn, &catalog, Mode::Strict)
                    .await
                    .context("seeding the demo catalog")?;
                txn.commit().await?;
            }
            let token = store::staff::create_token(store.db(), "demo-staff@example.edu").await?;
            let metrics = config
                .metrics_token
                .get_or_insert_with(|| store::secret::new_token().as_str().into())
                .expose()
                .to_string();
            let base = config.base_url.clone();
            // Without real peers, the demo answers as them from in-process simulators.
            let mut fakes = axum::Router::new();
            if config.recaptcha_site_key.is_none() {
                config.recaptcha_site_key = Some(simulators::recaptcha::SITE_KEY.to_string());
                config.recaptcha_secret = simulators::recaptcha::SECRET.into();
                config.recaptcha_verify_url =
                    format!("{base}/_simulators/recaptcha/recaptcha/api/siteverify");
                fakes = fakes.nest("/_simulators/recaptcha", simulators::recaptcha::router());
            }
            if config.openedx_url.is_none() {
                config.openedx_url = Some(format!("{base}/_simulators/openedx"));
                config.openedx_client_id = simulators::openedx::CLIENT_ID.to_string();
                config.openedx_client_secret = simulators::openedx::CLIENT_SECRET.into();
                let edx = Arc::new(simulators::openedx::OpenEdx::default());
                let provider = edx_signs_in_here(&store, &base).await?;
                edx.set_webhooks(edx_webhooks(&store, &base, &provider).await?);
                edx.auth.set_provider(provider);
                // The simulated LMS holds the demo's course runs and their modes, as edX would.
                for course in store::catalog::read::load(store.db()).await?.courses {
                    for run in course.runs {
                        let modes = run
                            .modes
                            .iter()
                            .map(|m| {
                                integrations::openedx::EdxCourseMode::usd(
                                    &m.slug,
                                    &m.display_name,
                                    if m.requires_payment { 10 } else { 0 },
                                    run.window.upgrade_deadline.filter(|_| m.slug == "verified"),
                                )
                            })
                            .collect();
                        edx.set_course_modes(&run.courseware_id, modes);
                        edx.set_course(simulators::openedx::SimCourse::of(
                            &run.courseware_id,
                            &course.title,
                            &run.window,
                            run.is_self_paced,
                            run.certificate_available_date,
                        ));
                    }
                }
                fakes = fakes.nest("/_simulators/openedx", simulators::openedx::router(edx));
            }
            if config.cybersource_export_url.is_none() {
                config.cybersource_export_url = Some(format!(
                    "{base}/_simulators/cybersource{}",
                    simulators::cybersource::TRANSACTION_PATH
                ));
                config.cybersource_merchant_id = simulators::cybersource::MERCHANT_ID.to_string();
                config.cybersource_transaction_key =
                    simulators::cybersource::TRANSACTION_KEY.into();
                config.exports_inquiry_public_key = Some(demo_inquiry_key(&config)?);
                config
                    .admin_email
                    .get_or_insert_with(|| "admin@example.edu".to_string());
            }
            if config.cybersource_secure_acceptance_url.is_none() {
                config.cybersource_secure_acceptance_url = Some(format!(
                    "{base}/_simulators/cybersource{}",
                    simulators::cybersource::PAY_PATH
                ));
                config.cybersource_access_key = simulators::cybersource::ACCESS_KEY.to_string();
                config.cybersource_profile_id = simulators::cybersource::PROFILE_ID.to_string();
                config.cybersource_secret_key = simulators::cybersource::SECRET_KEY.into();
            }
            if config.cybersource_rest_key_id.is_empty() {
                config.cybersource_rest_url = format!("{base}/_simulators/cybersource");
                config.cybersource_merchant_id = simulators::cybersource::MERCHANT_ID.to_string();
                config.cybersource_rest_key_id = simulators::cybersource::REST_KEY_ID.to_string();
                config.cybersource_rest_shared_secret = simulators::cybersource::REST_SECRET.into();
            }
            if config.google_service_account.is_none() {
                let google = Arc::new(simulators::google::Google::default());
                let account = simulators::google::service_account(&format!(
                    "{base}/_simulators/google/token"
                ));
                let key_file = config
                    .mail_outbox
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("google-simulator-key.json");
                if let Some(dir) = key_file.parent() {
                    std::fs::create_dir_all(dir)?;
                }
                std::fs::write(
                    &key_file,
                    serde_json::json!({
                        "type": "service_account",
                        "client_email": account.client_email,
                        "private_key": account.private_key,
                        "token_uri": account.token_uri,
                    })
                    .to_string(),
                )?;
                config.google_service_account = Some(key_file);
                config.google_sheets_url = format!("{base}/_simulators/google");
                config.google_drive_url = format!("{base}/_simulators/google");
                config.sheets_enrollment_change_id = Some(DEMO_SPREADSHEET.to_string());
                config.sheets_coupon_request_id = Some(DEMO_COUPON_SHEET.to_string());
                config.sheets_output_folder_id = Some(DEMO_FOLDER.to_string());
                config.sheets_admin_emails = vec!["staff@registrar.invalid".to_string()];
                config.sheets_webhook_token = Some("registrar-demo-drive-token".into());
                let requester = [
                    "Form response id",
                    "Request date",
                    "Learner email",
                    "Zendesk ticket",
                    "Requester email",
                ];
                let refunds = [
                    &requester[..],
                    &[
                        "Product id",
                        "Order id",
                        "Order type",
                        "Finance email",
                        "Finance approve date",
                        "Finance notes",
                        "Processor",
                        "Completed date",
                        "Error",
                        "Skip",
                    ],
                ]
                .concat();
                let deferrals = [
                    &requester[..],
                    &[
                        "From courseware id",
                        "To courseware id",
                        "Processor",
                        "Completed date",
                        "Error",
                        "Skip",
                    ],
                ]
                .concat();
                google.set_sheet(
                    DEMO_SPREADSHEET,
                    &config.sheets_refund_worksheet,
                    demo_sheet("Refund requests", &refunds, config.sheets_refund_first_row),
                );
                google.set_sheet(
                    DEMO_SPREADSHEET,
                    &config.sheets_deferral_worksheet,
                    demo_sheet(
                        "Deferral requests",
                        &deferrals,
                        config.sheets_deferral_first_row,
                    ),
                );
                google.set_sheet(
                    DEMO_COUPON_SHEET,
                    &config.sheets_coupon_request_worksheet,
                    demo_sheet(
                        "Coupon requests",
                        &[
                            "Purchase order",
                            "Coupon name",
                            "Number of codes",
                            "Product text id",
                            "Company",
                            "Activation",
                            "Expiration",
                            "Requester email",
                            "Processed date",
                            "Error",
                            "Skip",
                        ],
                        config.sheets_coupon_request_first_row,
                    ),
                );
                fakes = fakes.nest("/_simulators/google", simulators::google::router(google));
                // The Drive channel opens and the sheet is read once the worker starts.
                jobs::push(
                    store.db(),
                    &services::sheets::RenewFileWatches::default(),
                    jobs::Enqueue::default(),
                )
                .await?;
            }
            if config.hubspot_token.is_none() {
                config.hubspot_url = format!("{base}/_simulators/hubspot");
                config.hubspot_token = Some(simulators::hubspot::TOKEN.into());
                config.hubspot_forms_url = format!("{base}/_simulators/hubspot");
                config.hubspot_portal_id = Some("registrar-demo".to_string());
                config.hubspot_signup_form_id = Some("create-user".to_string());
                fakes = fakes.nest(
                    "/_simulators/hubspot",
                    simulators::hubspot::router(Arc::new(simulators::hubspot::HubSpot::default())),
                );
            }
            if config.vendor_reports_url.is_none() {
                config.vendor_reports_url = Some(format!("{base}/_simulators/vendor-reports"));
                config.vendor_reports_api_key = simulators::vendor_reports::API_KEY.into();
                config
                    .vendor_sync_recipients
                    .push("catalog-team@example.edu".to_string());
                let reports = Arc::new(simulators::vendor_reports::VendorReports::new(1));
                simulators::vendor_reports::sample(&reports, chrono::Utc::now());
                fakes = fakes.nest(
                    "/_simulators/vendor-reports",
                    simulators::vendor_reports::router(reports),
                );
                for vendor in domain::catalog::vendors::Vendor::ALL {
                    store::catalog::vocabulary::set_platform_sync(
                        store.db(),
                        vendor.platform(),
                        true,
                    )
                    .await?;
                }
                // The vendors' courses appear on start-up rather than at the next midnight.
                jobs::push(
                    store.db(),
                    &services::vendors::SyncExternalCourses::default(),
                    jobs::Enqueue::default(),
                )
                .await?;
            }
            // One simulated CyberSource serves the export screening and the payment page,
            // posting payment results to this Registrar as a configured profile would.
            let cybersource = Arc::new(simulators::cybersource::CyberSource::default());
            cybersource.set_merchant_post_url(&format!("{base}/api/checkout/result/"));
            fakes = fakes.nest(
                "/_simulators/cybersource",
                simulators::cybersource::router(cybersource),
            );
            serve(&config, store, true, true, fakes, move |_| {
                println!("Registrar demo is running. Open:");
                println!("  {base}/api/v2/courses/          MITx Online catalog API");
                println!("  {base}/api/v2/programs/");
                println!("  {base}/api/courses/             xPRO catalog API");
                println!("  {base}/api/programs/");
                println!("  {base}/api/schema/              OpenAPI document");
                println!("  {base}/metrics                  Prometheus metrics (Authorization: Bearer {metrics})");
                println!("  {base}/catalog/                 learner catalog; /signup to create an account");
                println!("  {base}/_dev/mail                mail the demo sent");
                println!("  {base}/_simulators/openedx      the simulated Open edX and its users");
                println!("  {base}/_simulators/cybersource  the simulated CyberSource and its export screenings");
                println!("  {base}/_simulators/hubspot      the simulated HubSpot: contacts, products, deals");
                println!("  {base}/_simulators/google       the simulated Google Sheets: type refund, deferral and coupon request rows");
                println!("  {base}/staff/                   staff area (sign in with the token below)");
                println!("  {base}/staff/vendors/           external vendor catalogs (Emeritus, Global Alumni)");
                println!("Staff API token (Authorization: Bearer …): {token}");
            })
            .await
        }
        Command::Admin {
            command: AdminCommand::CreateStaff { email },
        } => {
            if !email.contains('@') {
                bail!("EMAIL must be an email address, got {email:?}");
            }
            let store = open(&config).await?;
            println!("{}", store::staff::create_token(store.db(), &email).await?);
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::GrantStaff { email, revoke },
        } => {
            let address = domain::accounts::Email::parse(&email)
                .map_err(|e| anyhow::anyhow!("EMAIL: {e}"))?;
            let store = open(&config).await?;
            let Some(user) = store::accounts::find_by_email(store.db(), &address).await? else {
                bail!("there is no account with the email {email}");
            };
            store::accounts::update(store.db(), user, |u| u.is_staff = sea_orm::Set(!revoke))
                .await?;
            println!(
                "{email} {} use the staff area",
                if revoke { "can no longer" } else { "can now" }
            );
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::OauthApp { command },
        } => {
            let store = open(&config).await?;
            match command {
                OauthAppCommand::Create {
                    name,
                    redirect_uris,
                } => {
                    for uri in &redirect_uris {
                        if !(uri.starts_with("https://") || uri.starts_with("http://")) {
                            bail!("--redirect-uri must be an absolute http(s) URL, got {uri:?}");
                        }
                    }
                    let (app, secret) = store::oauth2::create_application(
                        store.db(),
                        &name,
                        &redirect_uris,
                        chrono::Utc::now(),
                    )
                    .await?;
                    println!("client_id:     {}\nclient_secret: {secret}", app.client_id);
                }
                OauthAppCommand::List => {
                    for app in store::oauth2::applications(store.db()).await? {
                        println!(
                            "{}  {}  {}",
                            app.client_id,
                            app.name,
                            app.redirect_uris.join(" ")
                        );
                    }
                }
            }
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::GeoipImport { locations, blocks },
        } => {
            let read = |path: &PathBuf| {
                std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
            };
            let locations = read(&locations)?;
            let blocks = blocks.iter().map(read).collect::<Result<Vec<_>, _>>()?;
            let store = open(&config).await?;
            let blocks: Vec<&str> = blocks.iter().map(String::as_str).collect();
            let loaded = services::geoip::import(&store, &locations, &blocks).await?;
            println!("{loaded} networks loaded");
            Ok(())
        }
        Command::Admin {
            command: AdminCommand::ExportsInquiry { command },
        } => match command {
            ExportsInquiryCommand::Keygen => {
                let (public, private) = services::compliance::new_key_pair();
                println!("public key (exports_inquiry_public_key): {public}");
                println!("private key (keep it secret):            {private}");
                Ok(())
            }
            ExportsInquiryCommand::Decrypt {
                id,
                private_key_file,
            } => {
                let key = std::fs::read_to_string(&private_key_file)
                    .with_context(|| format!("reading {}", private_key_file.display()))?;
                let store = open(&config).await?;
                let Some(inquiry) = store::compliance::find(store.db(), id).await? else {
                    bail!("there is no exports inquiry {id}");
                };
                for (what, sealed) in [
                    ("request", &inquiry.encrypted_request),
                    ("response", &inquiry.encrypted_response),
                ] {
                    let text = services::compliance::unseal(&key, sealed)
                        .map_err(|e| anyhow::anyhow!("the {what}: {e}"))?;
                    println!(
                        "--- {what} ({}, user {})\n{text}",
                        inquiry.computed_result, inquiry.user_id
                    );
                }
                Ok(())
            }
        },
        Command::Jobs { command } => {
            let store = open(&config).await?;
            jobs_command(store.db(), command).await
        }
        Command::Catalog { command } => match command {
            CatalogCommand::Import { files } => {
                let store = open(&config).await?;
                import_files(&store, &files).await
            }
            CatalogCommand::Export { output } => {
                let store = open(&config).await?;
                let json = serde_json::to_string_pretty(
                    &store::catalog::read::load(store.db()).await?.export(),
                )?;
                match output {
                    Some(path) => std::fs::write(&path, json)
                        .with_context(|| format!("writing {}", path.display())),
                    None => {
                        println!("{json}");
                        Ok(())
                    }
                }
            }
            CatalogCommand::Generate { courses, programs } => {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&seed::synthetic_catalog(
                        chrono::Utc::now(),
                        courses,
                        programs
                    ))?
                );
                Ok(())
            }
        },
    }
}
