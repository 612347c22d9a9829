//! The application wired from its configuration: the database, the peers' clients, the
//! web settings and the job context, built once for `serve`, `worker` and `demo`; logging
//! and shutdown.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use registrar::config::{Config, LogFormat};
use services::schedules::Declared;
use store::{PoolSize, Store};
use tokio::sync::{Notify, watch};

pub(crate) fn init_logging(format: LogFormat) {
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

pub(crate) async fn open(config: &Config) -> Result<Store> {
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
pub(crate) fn schedules(config: &Config) -> Result<Vec<Declared>> {
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

/// The application as configured, built once: the database, the schedules this
/// deployment runs, the job context (with every peer's client) and the web settings.
pub(crate) struct Application {
    store: Store,
    schedules: Vec<Declared>,
    context: Arc<services::Context>,
    web: web::Settings,
    worker_concurrency: usize,
}

impl Application {
    /// Wires the application from its configuration; a partial or unusable peer
    /// configuration stops here, naming the setting. `demo` shows the mail outbox and
    /// accepts the simulated reCAPTCHA.
    pub(crate) fn build(config: &Config, store: Store, demo: bool) -> Result<Self> {
        let schedules = schedules(config)?;
        let screening = screening(config)?;
        let smtp = smtp(config)?;
        let sheets = sheets(config)?;
        let vendors = vendor_sync(config);
        let storefront = storefront(config)?;
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
        let onboarding = services::accounts::Onboarding {
            provision_openedx: config.openedx_url.is_some(),
            screen_exports: screening.is_some(),
        };
        let web = web::Settings {
            base_url: config.base_url.clone(),
            catalog_refresh: Duration::from_millis(config.catalog_refresh_ms),
            schedules: schedules.clone(),
            // Mail holds sign-in and reset links: only the demo shows the outbox.
            mail_outbox: (demo && smtp.is_none()).then(|| config.mail_outbox.clone()),
            onboarding,
            storefront: storefront.clone(),
            gateway_proxies: config.gateway_trusted_proxies.clone(),
            vendors: vendors.clone(),
            sheets: sheets.clone(),
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
        };
        let context = Arc::new(services::Context {
            store: store.clone(),
            site_url: config.base_url.clone(),
            mail_outbox: config.mail_outbox.clone(),
            openedx,
            compliance: screening,
            vendors,
            smtp,
            crm: crm(config),
            sheets,
            storefront: storefront.map(Arc::new),
        });
        Ok(Application {
            store,
            schedules,
            context,
            web,
            worker_concurrency: config.worker_concurrency.max(1),
        })
    }

    /// Starts this process's job worker and scheduler; they stop when `stopped` turns
    /// true, running jobs first finishing (bounded).
    pub(crate) fn background(&self, stopped: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        let schedules: Vec<jobs::Schedule> =
            self.schedules.iter().map(|d| d.schedule.clone()).collect();
        let wake = Arc::new(Notify::new());
        let db = self.store.db();
        let worker = jobs::Worker {
            db: db.clone(),
            registry: Arc::new(services::registry()),
            context: self.context.clone(),
            settings: jobs::WorkerSettings::for_backend(
                db.get_database_backend(),
                self.worker_concurrency,
            ),
            // Claims are renewed by this name: a random part keeps a restarted container
            // (same hostname, same pid) from renewing the claims of the process that died.
            name: format!(
                "{}-{}-{}",
                hostname(),
                std::process::id(),
                &store::secret::new_token()[..8]
            ),
            wake: wake.clone(),
        };
        tracing::info!(
            concurrency = self.worker_concurrency,
            "job worker and scheduler started"
        );
        let scheduler = tokio::spawn(jobs::schedule::run(
            db.clone(),
            schedules,
            stopped.clone(),
            wake,
        ));
        tokio::spawn(async move {
            worker.run(stopped).await;
            let _ = scheduler.await;
        })
    }

    /// Runs the job worker and scheduler alone until a signal (`registrar worker`).
    pub(crate) async fn work(self) -> Result<()> {
        self.background(stop_on_signal()).await?;
        Ok(())
    }

    /// Serves HTTP on `bind` (with `extra` routes, the demo's simulators, and the worker
    /// unless `with_worker` is false) until a signal.
    pub(crate) async fn serve(
        self,
        bind: std::net::SocketAddr,
        with_worker: bool,
        extra: axum::Router,
        on_ready: impl FnOnce(std::net::SocketAddr),
    ) -> Result<()> {
        let stopped = stop_on_signal();
        let background = with_worker.then(|| self.background(stopped.clone()));
        let state = web::AppState::new(self.store, self.web, web::system_clock());
        let listener = tokio::net::TcpListener::bind(bind)
            .await
            .with_context(|| format!("binding {bind} (setting `bind`)"))?;
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
}
