//! The Open edX LMS client: a service token by OAuth2 client credentials, and user
//! creation through the account registration API with username-collision handling.
//! Failures are classified: transient ones (outages, 5xx, 429, timeouts) are worth a retry,
//! permanent ones (a refused request) are not.

use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Config {
    /// The LMS root, e.g. `https://courses.example.edu`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EdxError {
    #[error("Open edX unavailable: {0}")]
    Transient(String),
    #[error("Open edX refused: {0}")]
    Permanent(String),
}

/// A new edX account for one of our users.
#[derive(Debug, Clone)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub country: &'a str,
}

/// How many suffixed usernames to try when the one asked for is taken.
const USERNAME_ATTEMPTS: u32 = 5;

pub struct OpenEdx {
    config: Config,
    http: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: u64,
}

fn classify(status: reqwest::StatusCode, body: &str) -> EdxError {
    if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
        EdxError::Transient(format!(
            "{status}: {}",
            body.chars().take(200).collect::<String>()
        ))
    } else {
        EdxError::Permanent(format!(
            "{status}: {}",
            body.chars().take(500).collect::<String>()
        ))
    }
}

fn network(error: reqwest::Error) -> EdxError {
    EdxError::Transient(error.to_string())
}

impl OpenEdx {
    pub fn new(config: Config) -> Self {
        crate::install_tls_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client with default settings");
        Self {
            config,
            http,
            token: Mutex::new(None),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.config.base_url.trim_end_matches('/'))
    }

    /// The service token, fetched once and renewed a minute before it expires.
    async fn service_token(&self) -> Result<String, EdxError> {
        let mut cached = self.token.lock().await;
        if let Some((token, expires)) = cached.as_ref()
            && Instant::now() < *expires
        {
            return Ok(token.clone());
        }
        let response = self
            .http
            .post(self.url("/oauth2/access_token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", self.config.client_id.as_str()),
                ("client_secret", self.config.client_secret.as_str()),
                ("token_type", "jwt"),
            ])
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.text().await.map_err(network)?;
        if !status.is_success() {
            return Err(classify(status, &body));
        }
        let token: Token = serde_json::from_str(&body)
            .map_err(|e| EdxError::Permanent(format!("token response: {e}")))?;
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        *cached = Some((token.access_token.clone(), Instant::now() + lifetime));
        Ok(token.access_token)
    }

    /// Creates the edX account and returns the username it got. A taken username is retried
    /// with a numeric suffix; an email that already has an edX account resolves to that
    /// account's username, which makes the call idempotent.
    pub async fn create_user(&self, user: &NewUser<'_>) -> Result<String, EdxError> {
        let token = self.service_token().await?;
        // Learners sign in to edX through Registrar; the edX password is never used.
        let password = format!("{:032x}", rand::random::<u128>());
        for attempt in 0..USERNAME_ATTEMPTS {
            let username = if attempt == 0 {
                user.username.to_string()
            } else {
                format!("{}{attempt}", user.username)
            };
            let response = self
                .http
                .post(self.url("/user_api/v1/account/registration/"))
                .bearer_auth(&token)
                .form(&[
                    ("username", username.as_str()),
                    ("email", user.email),
                    ("name", user.name),
                    ("country", user.country),
                    ("password", password.as_str()),
                    ("honor_code", "true"),
                    ("terms_of_service", "true"),
                ])
                .send()
                .await
                .map_err(network)?;
            let status = response.status();
            let body = response.text().await.map_err(network)?;
            if status.is_success() {
                return Ok(username);
            }
            if status == reqwest::StatusCode::CONFLICT {
                let conflict: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if conflict.get("email").is_some() {
                    // The address has an edX account already: our own earlier attempt whose
                    // answer was lost, or the learner's existing account. Either way it is theirs.
                    return self.username_for(&token, user.email).await;
                }
                if conflict.get("username").is_some() {
                    continue;
                }
            }
            return Err(classify(status, &body));
        }
        Err(EdxError::Permanent(format!(
            "usernames {}…{} are all taken in edX",
            user.username,
            USERNAME_ATTEMPTS - 1
        )))
    }

    /// The username of the edX account registered with `email`.
    async fn username_for(&self, token: &str, email: &str) -> Result<String, EdxError> {
        let response = self
            .http
            .get(self.url("/api/user/v1/accounts"))
            .bearer_auth(token)
            .query(&[("email", email)])
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.text().await.map_err(network)?;
        if !status.is_success() {
            return Err(classify(status, &body));
        }
        let accounts: Vec<serde_json::Value> = serde_json::from_str(&body)
            .map_err(|e| EdxError::Permanent(format!("accounts response: {e}")))?;
        accounts
            .first()
            .and_then(|a| a.get("username"))
            .and_then(|u| u.as_str())
            .map(str::to_string)
            .ok_or_else(|| {
                EdxError::Permanent(format!(
                    "edX reported {email} as taken but has no account for it"
                ))
            })
    }

    /// Enrolls (or, with `active` false, unenrolls) an edX user in a course run. Enrollment
    /// is forced past edX's own enrollment window, as both references force it.
    pub async fn set_enrollment(
        &self,
        edx_username: &str,
        course_id: &str,
        mode: &str,
        active: bool,
    ) -> Result<(), EdxError> {
        let token = self.service_token().await?;
        let response = self
            .http
            .post(self.url("/api/enrollment/v1/enrollment"))
            .bearer_auth(&token)
            .json(&serde_json::json!({
                "user": edx_username,
                "mode": mode,
                "is_active": active,
                "course_details": {"course_id": course_id},
                "force_enrollment": true,
            }))
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.map_err(network)?;
        Err(classify(status, &body))
    }

    /// Updates the name and email of an edX account (the accounts API's merge patch).
    pub async fn update_user(
        &self,
        edx_username: &str,
        name: &str,
        email: &str,
    ) -> Result<(), EdxError> {
        let token = self.service_token().await?;
        let response = self
            .http
            .patch(self.url(&format!("/api/user/v1/accounts/{edx_username}")))
            .bearer_auth(&token)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/merge-patch+json",
            )
            .body(serde_json::json!({"name": name, "email": email}).to_string())
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let body = response.text().await.map_err(network)?;
        Err(classify(status, &body))
    }
}
