//! Settings: `REGISTRAR_*` environment variables (and `DATABASE_URL`) over an optional TOML
//! file over defaults. An unknown or malformed setting stops start-up with its name.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

/// A secret setting (a key, a token, a password): read like any string setting, but never
/// shown by `Debug` (so logging the settings shows none) nor written out when the settings
/// are serialised; `expose` gives the value to the one place that uses it.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_string())
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_empty() {
            "\"\""
        } else {
            "[redacted]"
        })
    }
}

/// An empty secret serialises as empty (the defaults carry none); any other as `[redacted]`.
impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(if self.0.is_empty() { "" } else { "[redacted]" })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `sqlite://…?mode=rwc` or `postgres://…`.
    pub database_url: String,
    /// Public base URL; absolute URLs in API bodies start with it.
    pub base_url: String,
    /// Address `serve` listens on.
    pub bind: SocketAddr,
    /// Database connections per process.
    pub pool_size: u32,
    /// Milliseconds a process serves its cached catalog before checking for changes made
    /// by other processes.
    pub catalog_refresh_ms: u64,
    /// `json` (one object per line) or `pretty`.
    pub log_format: LogFormat,
    /// Jobs a worker process runs at once.
    pub worker_concurrency: usize,
    /// Cadence overrides by schedule name: `"off"`, `"every 30m"`, or a crontab line.
    pub schedules: BTreeMap<String, String>,
    /// Folder outgoing mail is written to, one `.eml` file per message, when no SMTP relay
    /// is set.
    pub mail_outbox: std::path::PathBuf,
    /// The SMTP relay mail is sent through: `smtp://user:pass@host:587?tls=required`
    /// (STARTTLS), `smtps://…:465` (TLS) or `smtp://host:25` (plain, a local relay).
    pub smtp_url: Option<String>,
    /// The key Mailgun signs its delivery-status webhooks with (`/api/mail/events/`).
    pub mailgun_webhook_signing_key: Option<Secret>,
    /// The bearer token `/metrics` asks for; without one, `/metrics` is off (404).
    pub metrics_token: Option<Secret>,
    /// The sender of every message sent through the relay (the outbox uses a placeholder).
    pub mail_from: String,
    /// The Open edX LMS accounts are provisioned into; none, no provisioning (the demo
    /// uses its in-process simulator).
    pub openedx_url: Option<String>,
    pub openedx_client_id: String,
    pub openedx_client_secret: Secret,
    /// edX's social-auth entry for this Registrar (reference `OPENEDX_SOCIAL_LOGIN_PATH`),
    /// which the per-learner API token handshake starts at.
    pub openedx_social_login_path: String,
    /// Proxy addresses (the APISIX gateway) whose `X-Userinfo` header is trusted to sign
    /// users in; empty turns gateway sign-in off.
    pub gateway_trusted_proxies: Vec<std::net::IpAddr>,
    /// reCAPTCHA on sign-up: off unless a site key is set (the demo uses its simulator).
    pub recaptcha_site_key: Option<String>,
    pub recaptcha_secret: Secret,
    pub recaptcha_verify_url: String,
    /// The CyberSource SOAP endpoint of the export-compliance screening. Screening is on
    /// when it, the merchant id, the transaction key and the inquiry-log public key are all
    /// set (the reference's rule); the demo uses its simulator.
    pub cybersource_export_url: Option<String>,
    pub cybersource_merchant_id: String,
    pub cybersource_transaction_key: Secret,
    /// Base64 NaCl public key the screening log is sealed to (`registrar admin
    /// exports-inquiry keygen` makes a pair).
    pub exports_inquiry_public_key: Option<String>,
    pub cybersource_export_address_operator: String,
    pub cybersource_export_address_weight: String,
    pub cybersource_export_name_weight: String,
    pub cybersource_export_sanctions_lists: Option<String>,
    /// Where operational alerts go (an export-compliance denial).
    pub admin_email: Option<String>,
    /// The CyberSource Secure Acceptance hosted payment page; selling is on when it and the
    /// profile's access key, profile id and secret key are set (the demo uses its simulator).
    pub cybersource_secure_acceptance_url: Option<String>,
    pub cybersource_access_key: String,
    pub cybersource_profile_id: String,
    pub cybersource_secret_key: Secret,
    /// CyberSource's REST API (refunds), signed with this key (id and base64 shared secret)
    /// and `cybersource_merchant_id`; without a key only zero-value orders can be refunded.
    pub cybersource_rest_url: String,
    pub cybersource_rest_key_id: String,
    pub cybersource_rest_shared_secret: Secret,
    /// Order reference numbers are `<order_reference_prefix>-<environment>-<id>`.
    pub order_reference_prefix: String,
    /// Bulk seat purchases: `<bulk_order_reference_prefix>-<environment>-<id>`.
    pub bulk_order_reference_prefix: String,
    pub environment: String,
    /// The external vendors' report API (xPRO `EXTERNAL_COURSE_SYNC_API_BASE_URL`); the
    /// Emeritus and Global Alumni catalogs are synced from it when set (the demo uses its
    /// simulator), for each vendor whose platform has sync turned on.
    pub vendor_reports_url: Option<String>,
    pub vendor_reports_api_key: Secret,
    pub vendor_reports_timeout_secs: u64,
    /// Staff who receive each vendor sync's counts.
    pub vendor_sync_recipients: Vec<String>,
    /// HubSpot's API and a private-app token; contacts, products and deals are synced when
    /// the token is set (the demo uses its simulator).
    pub hubspot_url: String,
    pub hubspot_token: Option<Secret>,
    /// The `unique_app_id` prefix of Registrar's objects in HubSpot.
    pub hubspot_id_prefix: String,
    pub hubspot_pipeline_id: String,
    pub hubspot_deal_stages: services::crm::Stages,
    /// xPRO's registration form (`HUBSPOT_PORTAL_ID`, `HUBSPOT_CREATE_USER_FORM_ID`): with
    /// both set, each sign-up is posted to it with the visitor's `hubspotutk` cookie.
    pub hubspot_forms_url: String,
    pub hubspot_portal_id: Option<String>,
    pub hubspot_signup_form_id: Option<String>,
    /// A Google service account's JSON key file; with the enrollment-change or the coupon
    /// request spreadsheet's id, the Google Sheets request workflows are on (the demo uses
    /// its simulator).
    pub google_service_account: Option<std::path::PathBuf>,
    pub google_sheets_url: String,
    pub google_drive_url: String,
    /// The enrollment-change spreadsheet (xPRO `ENROLLMENT_CHANGE_SHEET_ID`), its refund
    /// worksheet's title and first data row.
    pub sheets_enrollment_change_id: Option<String>,
    pub sheets_refund_worksheet: String,
    pub sheets_refund_first_row: usize,
    /// Its deferral worksheet's title and first data row.
    pub sheets_deferral_worksheet: String,
    pub sheets_deferral_first_row: usize,
    /// The coupon request spreadsheet (xPRO `COUPON_REQUEST_SHEET_ID`), its worksheet's
    /// title and first data row.
    pub sheets_coupon_request_id: Option<String>,
    pub sheets_coupon_request_worksheet: String,
    pub sheets_coupon_request_first_row: usize,
    /// The Drive folder each request's assignment spreadsheet is created in
    /// (`DRIVE_OUTPUT_FOLDER_ID`), and who it is shared with (`SHEETS_ADMIN_EMAILS`).
    pub sheets_output_folder_id: Option<String>,
    pub sheets_admin_emails: Vec<String>,
    /// The token Drive's change notifications must carry; set, Registrar keeps a Drive
    /// channel open on each sheet (`<base_url>/api/sheets/watch/?sheet=…`).
    pub sheets_webhook_token: Option<Secret>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Json,
    Pretty,
}

pub const DEFAULT_DATABASE_URL: &str = "sqlite://registrar-data/registrar.db?mode=rwc";

impl Default for Config {
    fn default() -> Self {
        Self {
            database_url: DEFAULT_DATABASE_URL.to_string(),
            base_url: "http://127.0.0.1:8000".to_string(),
            bind: "127.0.0.1:8000".parse().expect("a socket address"),
            pool_size: 8,
            catalog_refresh_ms: 1000,
            log_format: LogFormat::Json,
            worker_concurrency: 16,
            schedules: BTreeMap::new(),
            mail_outbox: "registrar-data/mail".into(),
            smtp_url: None,
            mail_from: services::mail::FROM.to_string(),
            mailgun_webhook_signing_key: None,
            metrics_token: None,
            openedx_url: None,
            openedx_client_id: String::new(),
            openedx_client_secret: Secret::default(),
            openedx_social_login_path: integrations::openedx::SOCIAL_LOGIN_PATH.to_string(),
            gateway_trusted_proxies: Vec::new(),
            recaptcha_site_key: None,
            recaptcha_secret: Secret::default(),
            recaptcha_verify_url: "https://www.google.com/recaptcha/api/siteverify".to_string(),
            cybersource_export_url: None,
            cybersource_merchant_id: String::new(),
            cybersource_transaction_key: Secret::default(),
            exports_inquiry_public_key: None,
            cybersource_export_address_operator: "AND".to_string(),
            cybersource_export_address_weight: "high".to_string(),
            cybersource_export_name_weight: "high".to_string(),
            cybersource_export_sanctions_lists: None,
            admin_email: None,
            cybersource_secure_acceptance_url: None,
            cybersource_access_key: String::new(),
            cybersource_profile_id: String::new(),
            cybersource_secret_key: Secret::default(),
            cybersource_rest_url: "https://apitest.cybersource.com".to_string(),
            cybersource_rest_key_id: String::new(),
            cybersource_rest_shared_secret: Secret::default(),
            order_reference_prefix: "registrar".to_string(),
            bulk_order_reference_prefix: "registrar-bulk".to_string(),
            environment: "dev".to_string(),
            vendor_reports_url: None,
            vendor_reports_api_key: Secret::default(),
            vendor_reports_timeout_secs: 60,
            vendor_sync_recipients: Vec::new(),
            hubspot_url: "https://api.hubapi.com".to_string(),
            hubspot_token: None,
            hubspot_id_prefix: "REGISTRAR".to_string(),
            hubspot_pipeline_id: "default".to_string(),
            hubspot_deal_stages: services::crm::Stages::default(),
            hubspot_forms_url: "https://forms.hubspot.com".to_string(),
            hubspot_portal_id: None,
            hubspot_signup_form_id: None,
            google_service_account: None,
            google_sheets_url: "https://sheets.googleapis.com".to_string(),
            google_drive_url: "https://www.googleapis.com".to_string(),
            sheets_enrollment_change_id: None,
            sheets_refund_worksheet: "Refunds".to_string(),
            sheets_refund_first_row: 4,
            sheets_deferral_worksheet: "Deferrals".to_string(),
            sheets_deferral_first_row: 5,
            sheets_coupon_request_id: None,
            sheets_coupon_request_worksheet: "Sheet1".to_string(),
            sheets_coupon_request_first_row: 2,
            sheets_output_folder_id: None,
            sheets_admin_emails: Vec::new(),
            sheets_webhook_token: None,
        }
    }
}

impl Config {
    pub fn load(file: Option<&Path>) -> Result<Self, String> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(file) = file {
            if !file.exists() {
                return Err(format!("config file {} does not exist", file.display()));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment = figment
            // REGISTRAR_CONFIG names the file itself; REGISTRAR_TEST_DATABASE_URL is the
            // test suite's, not a setting.
            .merge(
                Env::prefixed("REGISTRAR_")
                    .ignore(&["config", "test_database_url"])
                    .split("__"),
            )
            .merge(Env::raw().only(&["DATABASE_URL"]));
        figment.extract().map_err(|e| {
            e.into_iter()
                .map(|e| {
                    let name = e.path.join(".");
                    let source = e
                        .metadata
                        .as_ref()
                        .map(|m| m.name.to_string())
                        .unwrap_or_default();
                    format!("setting `{name}` ({source}): {}", e.kind)
                })
                .collect::<Vec<_>>()
                .join("\n")
        })
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's signature, not ours
mod tests {
    use super::*;

    #[test]
    fn secrets_are_read_as_before_and_never_shown() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "registrar.toml",
                "cybersource_secret_key = \"file-secret-1\"",
            )?;
            jail.set_env("REGISTRAR_HUBSPOT_TOKEN", "env-token-2");
            jail.set_env("REGISTRAR_METRICS_TOKEN", "env-token-3");
            let config = Config::load(Some(Path::new("registrar.toml"))).unwrap();
            assert_eq!(config.cybersource_secret_key.expose(), "file-secret-1");
            assert_eq!(
                config.hubspot_token.as_ref().map(Secret::expose),
                Some("env-token-2")
            );
            let shown = format!("{config:?} {}", serde_json::to_string(&config).unwrap());
            for secret in ["file-secret-1", "env-token-2", "env-token-3"] {
                assert!(!shown.contains(secret), "{secret} shown: {shown}");
            }
            assert!(shown.contains("[redacted]"));
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_file_and_unknown_settings_are_named() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "registrar.toml",
                "base_url = \"https://file.example\"\npool_size = 3",
            )?;
            jail.set_env("REGISTRAR_BASE_URL", "https://env.example");
            let config = Config::load(Some(Path::new("registrar.toml"))).unwrap();
            assert_eq!(config.base_url, "https://env.example");
            assert_eq!(config.pool_size, 3);
            jail.set_env("DATABASE_URL", "postgres://db/registrar");
            assert_eq!(
                Config::load(None).unwrap().database_url,
                "postgres://db/registrar"
            );
            jail.set_env("REGISTRAR_TEST_DATABASE_URL", "postgres://elsewhere/");
            jail.set_env("REGISTRAR_CONFIG", "registrar.toml");
            assert!(
                Config::load(None).is_ok(),
                "variables that are not settings are ignored"
            );
            jail.set_env("REGISTRAR_SCHEDULES__PURGE_FINISHED_JOBS", "off");
            let config = Config::load(None).unwrap();
            assert_eq!(
                config
                    .schedules
                    .get("purge_finished_jobs")
                    .map(String::as_str),
                Some("off")
            );
            jail.set_env("REGISTRAR_POOL_SIZ", "4");
            let err = Config::load(None).unwrap_err();
            assert!(err.contains("pool_siz"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn malformed_values_name_the_setting() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("REGISTRAR_BIND", "not an address");
            let err = Config::load(None).unwrap_err();
            assert!(err.contains("bind"), "{err}");
            Ok(())
        });
    }
}
