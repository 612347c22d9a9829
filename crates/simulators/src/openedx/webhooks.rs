//! What edX tells the platform it serves (MITx Online's Open edX plugins): an enrollment
//! made in edX itself, and a certificate earned, posted to Registrar's
//! `/api/openedx_webhook/{enrollment,certificate}/` with a staff account's OAuth2 token. A
//! token refused with 401 is refreshed once through Registrar's token endpoint, as an
//! OAuth2 client would. Every delivery is recorded for the page and tests.

use std::sync::Arc;

use axum::extract::{Form, OriginalUri, State};
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{EdxEnrollment, OpenEdx};

/// Where the webhooks go and the token they carry.
#[derive(Debug, Clone)]
pub struct Webhooks {
    pub registrar_url: String,
    pub access_token: String,
    pub refresh_token: String,
    /// The OAuth2 client (edX's application at Registrar) that refreshes the token.
    pub client_id: String,
    pub client_secret: String,
}

/// One delivery: which webhook, what was sent, and Registrar's answer (0: unreachable).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Sent {
    pub path: String,
    pub body: Value,
    pub status: u16,
}

#[derive(Deserialize)]
struct Refreshed {
    access_token: String,
    refresh_token: String,
}

impl OpenEdx {
    /// Makes the simulator send its webhooks to a Registrar.
    pub fn set_webhooks(&self, webhooks: Webhooks) {
        *self.webhooks.lock().expect("simulator lock") = Some(webhooks);
    }

    pub fn webhooks_sent(&self) -> Vec<Sent> {
        self.sent.lock().expect("simulator lock").clone()
    }

    fn email_of(&self, username: &str) -> Option<String> {
        self.users
            .lock()
            .expect("simulator lock")
            .get(username)
            .map(|u| u.email.clone())
    }

    async fn post(http: &reqwest::Client, url: &str, token: &str, body: &Value) -> u16 {
        match http.post(url).bearer_auth(token).json(body).send().await {
            Ok(response) => response.status().as_u16(),
            Err(_) => 0,
        }
    }

    async fn refresh(&self, http: &reqwest::Client, hooks: &Webhooks) -> Option<String> {
        let response = http
            .post(format!("{}/oauth2/access_token/", hooks.registrar_url))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", hooks.refresh_token.as_str()),
                ("client_id", hooks.client_id.as_str()),
                ("client_secret", hooks.client_secret.as_str()),
            ])
            .send()
            .await
            .ok()?;
        let tokens: Refreshed = response.error_for_status().ok()?.json().await.ok()?;
        if let Some(stored) = self.webhooks.lock().expect("simulator lock").as_mut() {
            stored.access_token = tokens.access_token.clone();
            stored.refresh_token = tokens.refresh_token;
        }
        Some(tokens.access_token)
    }

    /// Posts `body` to the named webhook (when webhooks are set) and records the answer.
    pub(super) async fn notify(&self, webhook: &str, body: Value) {
        let Some(hooks) = self.webhooks.lock().expect("simulator lock").clone() else {
            return;
        };
        let http = integrations::http_client(10, reqwest::redirect::Policy::none());
        let path = format!("/api/openedx_webhook/{webhook}/");
        let url = format!("{}{path}", hooks.registrar_url);
        let mut status = Self::post(&http, &url, &hooks.access_token, &body).await;
        if status == 401
            && let Some(token) = self.refresh(&http, &hooks).await
        {
            status = Self::post(&http, &url, &token, &body).await;
        }
        self.sent
            .lock()
            .expect("simulator lock")
            .push(Sent { path, body, status });
    }

    /// A certificate earned in edX: the certificate webhook for the learner and run.
    pub(super) async fn certificate_earned(&self, username: &str, course_id: &str) {
        if let Some(email) = self.email_of(username) {
            self.notify(
                "certificate",
                json!({"email": email, "course_id": course_id}),
            )
            .await;
        }
    }
}

#[derive(Deserialize)]
pub(super) struct EdxSideEnrollment {
    username: String,
    course_id: String,
    #[serde(default = "audit")]
    mode: String,
}

fn audit() -> String {
    "audit".to_string()
}

/// `POST /_enroll`: a learner enrolls in edX itself (not through Registrar); edX holds the
/// enrollment and sends the enrollment webhook.
pub(super) async fn enroll_in_edx(
    State(state): State<Arc<OpenEdx>>,
    OriginalUri(uri): OriginalUri,
    Form(form): Form<EdxSideEnrollment>,
) -> Response {
    state.enrollments.lock().expect("simulator lock").insert(
        (form.username.clone(), form.course_id.clone()),
        EdxEnrollment {
            username: form.username.clone(),
            course_id: form.course_id.clone(),
            mode: form.mode,
            is_active: true,
        },
    );
    if let Some(email) = state.email_of(&form.username) {
        state
            .notify(
                "enrollment",
                json!({"email": email, "course_id": form.course_id, "role": "student"}),
            )
            .await;
    }
    let page = uri.path().trim_end_matches("/_enroll").to_string();
    Redirect::to(if page.is_empty() { "/" } else { &page }).into_response()
}
