//! `registrar demo`: the whole system on one machine. SQLite, the synthetic catalog, and
//! in-process simulators of every peer (Open edX, CyberSource, HubSpot, Google Sheets and
//! Drive, reCAPTCHA, the vendors' report API) mounted under `/_simulators/`, configured as
//! an operator would configure the real ones.

use std::sync::Arc;

use anyhow::{Context, Result};
use jobs::Job as _;
use registrar::config::Config;
use registrar::seed;
use store::Store;
use store::catalog::write::{Mode, apply};

use crate::app;

/// Runs the demo on `127.0.0.1:port` until a signal.
pub(crate) async fn run(mut config: Config, port: u16) -> Result<()> {
    config.bind = ([127, 0, 0, 1], port).into();
    if std::env::var("REGISTRAR_BASE_URL").is_err() {
        config.base_url = format!("http://127.0.0.1:{port}");
    }
    let store = app::open(&config).await?;
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
        config.cybersource_transaction_key = simulators::cybersource::TRANSACTION_KEY.into();
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
        let account =
            simulators::google::service_account(&format!("{base}/_simulators/google/token"));
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
        services::sheets::RenewFileWatches::default()
            .enqueue(store.db())
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
            store::catalog::vocabulary::set_platform_sync(store.db(), vendor.platform(), true)
                .await?;
        }
        // The vendors' courses appear on start-up rather than at the next midnight.
        services::vendors::SyncExternalCourses::default()
            .enqueue(store.db())
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
    let app = app::Application::build(&config, store, true)?;
    app.serve(config.bind, true, fakes, move |_| {
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
