//! The Open edX LMS client: a service token by OAuth2 client credentials, user creation
//! through the account registration API with username-collision handling, enrollments with
//! the audit fallback, and (in `user_token`) each learner's own API token and what it is used
//! for. Failures are classified: transient ones (outages, 5xx, 429, timeouts) are worth a
//! retry, permanent ones (a refused request) are not.

mod user_token;

pub use user_token::{SiteSession, UserToken};

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Config {
    /// The LMS root, e.g. `https://courses.example.edu`.
    pub base_url: String,
    pub client_id: String,
    pub client_secret: String,
    /// edX's social-auth entry for Registrar's provider (reference `OPENEDX_SOCIAL_LOGIN_PATH`).
    pub social_login_path: String,
}

/// The reference's default social-login entry.
pub const SOCIAL_LOGIN_PATH: &str = "/auth/login/ol-oauth2/?auth_entry=login";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EdxError {
    #[error("Open edX unavailable: {0}")]
    Transient(String),
    #[error("Open edX refused: {0}")]
    Permanent(String),
    /// The credential presented was not accepted (401).
    #[error("Open edX did not accept the credentials: {0}")]
    Unauthorized(String),
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
    /// For the sign-in handshake, whose redirects are followed by hand (see `user_token`).
    browser: reqwest::Client,
    token: Mutex<Option<(String, Instant)>>,
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    expires_in: u64,
}

fn classify(status: reqwest::StatusCode, body: &str) -> EdxError {
    if status == reqwest::StatusCode::UNAUTHORIZED {
        return EdxError::Unauthorized(body.chars().take(200).collect());
    }
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
        Self {
            config,
            http: crate::http_client(20, reqwest::redirect::Policy::default()),
            browser: crate::http_client(20, reqwest::redirect::Policy::none()),
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
        let token: Token = self
            .grant(&[("grant_type", "client_credentials"), ("token_type", "jwt")])
            .await?
            .ok_or_else(|| EdxError::Permanent("edX refused the client credentials".into()))?;
        let lifetime = Duration::from_secs(token.expires_in.saturating_sub(60).max(1));
        *cached = Some((token.access_token.clone(), Instant::now() + lifetime));
        Ok(token.access_token)
    }

    /// Asks edX's token endpoint for a grant with this client's credentials; `None` when
    /// edX answers `invalid_grant` (a code or refresh token it no longer honours).
    async fn grant<T: serde::de::DeserializeOwned>(
        &self,
        grant: &[(&str, &str)],
    ) -> Result<Option<T>, EdxError> {
        let mut form = grant.to_vec();
        form.push(("client_id", self.config.client_id.as_str()));
        form.push(("client_secret", self.config.client_secret.as_str()));
        let response = self
            .http
            .post(self.url("/oauth2/access_token"))
            .form(&form)
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.text().await.map_err(network)?;
        if status == reqwest::StatusCode::BAD_REQUEST && body.contains("invalid_grant") {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(classify(status, &body));
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|e| EdxError::Permanent(format!("token response: {e}")))
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
        let accounts: Vec<serde_json::Value> = read_json(response, "accounts").await?;
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

    /// Enrolls (or, with `active` false, unenrolls) an edX user in a course run and returns
    /// the mode edX took. Enrollment is forced past edX's own enrollment window, as both
    /// references force it; a paid mode edX reports expired or unavailable falls back to
    /// audit once, as the xPRO reference does, so the learner still reaches the course.
    pub async fn set_enrollment(
        &self,
        edx_username: &str,
        course_id: &str,
        mode: &str,
        active: bool,
    ) -> Result<String, EdxError> {
        let token = self.service_token().await?;
        match self
            .post_enrollment(&token, edx_username, course_id, mode, active)
            .await
        {
            Err(EdxError::Permanent(message))
                if active && mode != AUDIT && mode_unavailable(&message) =>
            {
                tracing::warn!(
                    edx_username,
                    course_id,
                    mode,
                    "edX refused the mode; enrolling in audit"
                );
                self.post_enrollment(&token, edx_username, course_id, AUDIT, active)
                    .await?;
                Ok(AUDIT.to_string())
            }
            outcome => outcome.map(|()| mode.to_string()),
        }
    }

    async fn post_enrollment(
        &self,
        token: &str,
        edx_username: &str,
        course_id: &str,
        mode: &str,
        active: bool,
    ) -> Result<(), EdxError> {
        let response = self
            .http
            .post(self.url("/api/enrollment/v1/enrollment"))
            .bearer_auth(token)
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
        expect_success(response).await
    }
}

/// One learner's grade in a course run, as edX's grades API reports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CourseGrade {
    pub username: String,
    /// A fraction from 0 to 1.
    pub percent: f64,
    pub passed: bool,
    #[serde(default)]
    pub letter_grade: Option<String>,
}

#[derive(Deserialize)]
struct GradePage {
    next: Option<String>,
    results: Vec<CourseGrade>,
}

impl OpenEdx {
    /// Every learner's grade in a course run (or one learner's, by edX username), following
    /// edX's pages. A next page on another host than the LMS is refused rather than sent the
    /// service token.
    pub async fn course_grades(
        &self,
        course_id: &str,
        username: Option<&str>,
    ) -> Result<Vec<CourseGrade>, EdxError> {
        let token = self.service_token().await?;
        let mut url = self.url(&format!("/api/grades/v1/courses/{course_id}/"));
        if let Some(username) = username {
            let mut parsed = reqwest::Url::parse(&url)
                .map_err(|e| EdxError::Permanent(format!("grades URL: {e}")))?;
            parsed.query_pairs_mut().append_pair("username", username);
            url = parsed.to_string();
        }
        self.pages(&token, url, "grades", |page: GradePage| {
            (page.results, page.next)
        })
        .await
    }

    /// Every item of a paged edX list from `url` on, following its next links; a next page
    /// on another host than the LMS is refused rather than sent the service token.
    async fn pages<P: serde::de::DeserializeOwned, T>(
        &self,
        token: &str,
        url: String,
        what: &str,
        split: impl Fn(P) -> (Vec<T>, Option<String>),
    ) -> Result<Vec<T>, EdxError> {
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next.take() {
            let response = self
                .http
                .get(&url)
                .bearer_auth(token)
                .send()
                .await
                .map_err(network)?;
            let (page, link) = split(read_json(response, what).await?);
            items.extend(page);
            next = match link {
                Some(link) if same_origin(&link, &self.config.base_url) => Some(link),
                Some(link) => {
                    return Err(EdxError::Permanent(format!(
                        "edX linked its next {what} page off the LMS: {link}"
                    )));
                }
                None => None,
            };
        }
        Ok(items)
    }
}

/// Whether two URLs share scheme, host and port.
fn same_origin(a: &str, b: &str) -> bool {
    match (reqwest::Url::parse(a), reqwest::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.origin() == b.origin(),
        _ => false,
    }
}

/// A successful response's JSON body; a refusal classified; `what` names the response in
/// a parse error.
async fn read_json<T: serde::de::DeserializeOwned>(
    response: reqwest::Response,
    what: &str,
) -> Result<T, EdxError> {
    let status = response.status();
    let body = response.text().await.map_err(network)?;
    if !status.is_success() {
        return Err(classify(status, &body));
    }
    serde_json::from_str(&body).map_err(|e| EdxError::Permanent(format!("{what} response: {e}")))
}

async fn expect_success(response: reqwest::Response) -> Result<(), EdxError> {
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let body = response.text().await.map_err(network)?;
    Err(classify(status, &body))
}

const AUDIT: &str = "audit";

/// edX's two ways of saying a course mode cannot be enrolled in (reference
/// `courseware/api.py` enrollment fallback).
fn mode_unavailable(message: &str) -> bool {
    message.contains("course mode is expired or otherwise unavailable for course run")
        || (message.contains("Specified course mode") && message.contains("unavailable for course"))
}

/// What edX's course API says of one course run.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EdxCourse {
    /// The course key (our courseware id).
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub enrollment_start: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub enrollment_end: Option<chrono::DateTime<chrono::Utc>>,
    /// `self` or `instructor`.
    #[serde(default)]
    pub pacing: Option<String>,
    #[serde(default)]
    pub certificate_available_date: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize)]
struct CoursePage {
    results: Vec<EdxCourse>,
    #[serde(default)]
    pagination: Option<Pagination>,
}

#[derive(Deserialize)]
struct Pagination {
    next: Option<String>,
}

/// A course mode of a run as edX's course modes API holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EdxCourseMode {
    pub mode_slug: String,
    #[serde(default)]
    pub mode_display_name: String,
    #[serde(default)]
    pub min_price: i64,
    #[serde(default)]
    pub currency: String,
    /// The verified mode's is the run's upgrade deadline.
    #[serde(default)]
    pub expiration_datetime: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    pub description: Option<String>,
}

impl EdxCourseMode {
    /// A mode priced in US dollars (edX's minimum price; none for audit).
    pub fn usd(
        slug: &str,
        display_name: &str,
        min_price: i64,
        expiration: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        EdxCourseMode {
            mode_slug: slug.to_string(),
            mode_display_name: display_name.to_string(),
            min_price,
            currency: "usd".to_string(),
            expiration_datetime: expiration,
            description: Some(display_name.to_string()),
        }
    }
}

/// Course keys per request to the course API.
const COURSE_KEYS_PER_CALL: usize = 50;

impl OpenEdx {
    /// edX's view of these course runs (`/api/courses/v1/courses/?course_keys=…`), page by
    /// page; runs edX does not know are simply absent.
    pub async fn courses(&self, keys: &[String]) -> Result<Vec<EdxCourse>, EdxError> {
        let token = self.service_token().await?;
        let mut courses = Vec::new();
        for chunk in keys.chunks(COURSE_KEYS_PER_CALL) {
            let mut url = reqwest::Url::parse(&self.url("/api/courses/v1/courses/"))
                .map_err(|e| EdxError::Permanent(format!("courses URL: {e}")))?;
            url.query_pairs_mut()
                .append_pair("course_keys", &chunk.join(","));
            courses.extend(
                self.pages(&token, url.to_string(), "courses", |page: CoursePage| {
                    (page.results, page.pagination.and_then(|p| p.next))
                })
                .await?,
            );
        }
        Ok(courses)
    }

    fn modes_url(course_id: &str) -> String {
        format!("/api/course_modes/v1/courses/{course_id}/")
    }

    /// The run's course modes (`GET /api/course_modes/v1/courses/{id}/`).
    pub async fn course_modes(&self, course_id: &str) -> Result<Vec<EdxCourseMode>, EdxError> {
        let token = self.service_token().await?;
        let response = self
            .http
            .get(self.url(&Self::modes_url(course_id)))
            .bearer_auth(&token)
            .send()
            .await
            .map_err(network)?;
        read_json(response, "course modes").await
    }

    /// Creates a course mode of the run (`POST /api/course_modes/v1/courses/{id}/`).
    pub async fn create_course_mode(
        &self,
        course_id: &str,
        mode: &EdxCourseMode,
    ) -> Result<(), EdxError> {
        let token = self.service_token().await?;
        let mut body = serde_json::to_value(mode)
            .map_err(|e| EdxError::Permanent(format!("course mode: {e}")))?;
        body["course_id"] = course_id.into();
        let response = self
            .http
            .post(self.url(&Self::modes_url(course_id)))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .map_err(network)?;
        expect_success(response).await
    }
}
