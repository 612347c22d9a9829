//! The HTTP edge: both catalog API dialects (MITx Online `/api/v1|v2/…`, xPRO `/api/…`),
//! the staff catalog API, and the operations endpoints.

mod actions;
pub mod api;
mod cache;
mod client_ip;
mod csrf;
mod csv;
mod error;
mod gateway;
mod headers;
mod input;
mod ops;
mod pages;
mod pdf;
mod redirect;
pub(crate) mod request;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use chrono::{DateTime, Utc};
use store::Store;

pub use cache::CatalogCache;
pub use error::ApiError;

/// The instant the catalog predicates judge against; tests pin it.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(Utc::now)
}

#[derive(Clone)]
pub struct Settings {
    /// `https://mitxonline.example.edu` — absolute URLs in API bodies start with it.
    pub base_url: String,
    /// How long a process serves its cached catalog before checking for changes made by
    /// other processes.
    pub catalog_refresh: Duration,
    /// The schedules this deployment runs (as resolved at start-up), for the flows page.
    pub schedules: Vec<services::schedules::Declared>,
    /// Where mail is delivered when it goes to a folder; shown at `/_dev/mail`.
    pub mail_outbox: Option<std::path::PathBuf>,
    /// What follows sign-up: Open edX provisioning, export screening.
    pub onboarding: services::accounts::Onboarding,
    /// Proxy addresses whose `X-Userinfo` header signs users in (empty: gateway sign-in off).
    pub gateway_proxies: Vec<std::net::IpAddr>,
    /// The sign-up bot check, when configured.
    pub recaptcha: Option<Recaptcha>,
    /// How this deployment sells; none, nothing is for sale.
    pub storefront: Option<services::commerce::Storefront>,
    /// The vendors' report API (staff read its raw rows), when vendor catalogs are synced.
    pub vendors: Option<Arc<services::vendors::VendorSync>>,
    /// The Google Sheets workflows (their Drive webhook token), when configured.
    pub sheets: Option<Arc<services::sheets::Sheets>>,
    /// The key delivery-status webhooks are signed with (Mailgun's webhook signing key).
    pub mail_events_key: Option<String>,
    /// The bearer token `/metrics` asks for; none, `/metrics` is off.
    pub metrics_token: Option<String>,
}

/// reCAPTCHA on sign-up: the verifier, and what the form renders.
#[derive(Clone)]
pub struct Recaptcha {
    pub verifier: Arc<integrations::recaptcha::Recaptcha>,
    pub site_key: String,
    /// The demo's simulator: a checkbox instead of Google's widget.
    pub simulated: bool,
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub catalog: Arc<CatalogCache>,
    pub settings: Arc<Settings>,
    pub clock: Clock,
    pub limits: Arc<pages::account::Limits>,
}

impl AppState {
    pub fn new(store: Store, settings: Settings, clock: Clock) -> Self {
        let catalog = Arc::new(CatalogCache::new(store.clone(), settings.catalog_refresh));
        Self {
            store,
            catalog,
            settings: Arc::new(settings),
            clock,
            limits: Arc::new(pages::account::Limits::default()),
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        (self.clock)()
    }

    /// An absolute URL for a path on this site (kept as is when already absolute).
    pub fn absolute(&self, path: &str) -> String {
        if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!(
                "{}/{}",
                self.settings.base_url.trim_end_matches('/'),
                path.trim_start_matches('/')
            )
        }
    }
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let metrics = ops::install_metrics();
    let gateway = axum::middleware::from_fn_with_state(state.clone(), gateway::identify);
    let security_headers = headers::for_settings(&state.settings);
    Router::new()
        .merge(api::mitxonline::routes())
        .merge(api::xpro::routes())
        .merge(api::staff::routes())
        .merge(api::jobs::routes())
        .merge(api::flows::routes())
        .merge(api::enrollments::routes())
        .merge(api::program_enrollments::routes())
        .merge(api::sheets::routes())
        .merge(api::mail_events::routes())
        .merge(api::oauth2::routes())
        .merge(api::orders::routes())
        .merge(api::baskets::routes())
        .merge(api::b2b::routes())
        .merge(api::products::routes())
        .merge(api::coupons::routes())
        .merge(api::openedx_webhooks::routes())
        .merge(api::discounts::routes())
        .merge(api::schema::routes())
        .merge(pages::routes())
        .merge(ops::routes(metrics, state.settings.metrics_token.clone()))
        .fallback(error::not_found)
        .with_state(state.clone())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::render_page_errors,
        ))
        .layer(gateway)
        .layer(axum::middleware::from_fn(csrf::protect))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            input::refuse_unstorable,
        ))
        .layer(axum::middleware::from_fn_with_state(
            security_headers,
            headers::add,
        ))
        .layer(axum::middleware::from_fn(ops::track))
        .layer(ops::request_id_layers())
}
