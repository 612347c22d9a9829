//! Learner account pages: what they share (the signed-in learner, the form and message
//! pages, the reset-request limiter) and the demo's mail outbox; sign-up and email
//! verification, sign-in, sign-out and password reset, the dashboard and its enrollment
//! changes, and the profile with change of email are in their own modules.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use domain::accounts::{COUNTRIES, LegalAddress};
use domain::catalog::validate::FieldErrors;

use super::{Meta, assets, error_page, render};
use crate::AppState;
pub(crate) use crate::request::current_user;

pub(super) mod dashboard;
pub(super) mod profile;
pub(super) mod signin;
pub(super) mod signup;

pub use signin::signout;

/// Failed attempts per key in a sliding window. Limits are per process: with N web
/// processes an attacker gets N times as many tries, still far too few to guess passwords.
pub struct Limiter {
    window: Duration,
    allowed: usize,
    attempts: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Limiter {
    pub fn new(allowed: usize, window: Duration) -> Self {
        Self {
            window,
            allowed,
            attempts: Mutex::new(HashMap::new()),
        }
    }

    fn recent(&self, key: &str) -> usize {
        let mut attempts = self.attempts.lock().expect("limiter lock");
        let entry = attempts.entry(key.to_string()).or_default();
        while entry.front().is_some_and(|t| t.elapsed() > self.window) {
            entry.pop_front();
        }
        entry.len()
    }

    pub fn blocked(&self, key: &str) -> bool {
        self.recent(key) >= self.allowed
    }

    pub fn record(&self, key: &str) {
        self.attempts
            .lock()
            .expect("limiter lock")
            .entry(key.to_string())
            .or_default()
            .push_back(Instant::now());
    }
}

/// Reset requests per address (sign-in attempts are limited in the database, by
/// `services::accounts::sign_in_from`).
pub struct Limits {
    pub reset: Limiter,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            reset: Limiter::new(3, Duration::from_secs(60 * 60)),
        }
    }
}

pub(crate) struct Field {
    pub name: &'static str,
    pub label: &'static str,
    pub kind: &'static str,
    pub value: String,
    pub autocomplete: &'static str,
    pub error: Option<String>,
}

pub(crate) fn field(
    name: &'static str,
    label: &'static str,
    kind: &'static str,
    autocomplete: &'static str,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
) -> Field {
    Field {
        name,
        label,
        kind,
        // Passwords are never echoed back.
        value: if kind == "password" {
            String::new()
        } else {
            values.get(name).cloned().unwrap_or_default()
        },
        autocomplete,
        error: errors.get(name).map(|m| m.join("; ")),
    }
}

#[derive(Template)]
#[template(path = "account/form.html")]
struct FormPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    heading: &'static str,
    intro: Option<String>,
    form_error: Option<String>,
    action: String,
    fields: Vec<Field>,
    with_address: bool,
    address: LegalAddress,
    address_errors: (Option<String>, Option<String>),
    countries: &'static [&'static str],
    states: Vec<String>,
    submit: &'static str,
    links: Vec<(&'static str, &'static str)>,
    captcha: Option<Captcha>,
}

pub struct Captcha {
    pub simulated: bool,
    pub site_key: String,
    pub error: Option<String>,
}

impl FormPage {
    fn new(
        state: &AppState,
        path: &str,
        heading: &'static str,
        submit: &'static str,
        fields: Vec<Field>,
    ) -> Self {
        Self {
            meta: Meta::new(state, path, heading, heading),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            heading,
            intro: None,
            form_error: None,
            action: path.to_string(),
            fields,
            with_address: false,
            address: LegalAddress::default(),
            address_errors: (None, None),
            countries: COUNTRIES,
            states: [
                LegalAddress::subdivisions("US"),
                LegalAddress::subdivisions("CA"),
            ]
            .concat(),
            submit,
            links: Vec::new(),
            captcha: None,
        }
    }

    fn with_address(mut self, address: LegalAddress, errors: &FieldErrors) -> Self {
        self.with_address = true;
        self.address = address;
        self.address_errors = (
            errors.get("country").map(|m| m.join("; ")),
            errors.get("state").map(|m| m.join("; ")),
        );
        self
    }
}

#[derive(Template)]
#[template(path = "account/message.html")]
struct MessagePage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    heading: &'static str,
    message: String,
    links: Vec<(&'static str, &'static str)>,
}

pub(super) fn message(
    state: &AppState,
    status: StatusCode,
    heading: &'static str,
    message: impl Into<String>,
    links: Vec<(&'static str, &'static str)>,
) -> Response {
    render(
        status,
        &MessagePage {
            meta: Meta::new(state, "/", heading, heading),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            heading,
            message: message.into(),
            links,
        },
    )
}

fn address_from(values: &HashMap<String, String>) -> LegalAddress {
    let get = |k: &str| {
        values
            .get(k)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    };
    LegalAddress {
        first_name: get("first_name"),
        last_name: get("last_name"),
        country: get("country"),
        state: Some(get("state")).filter(|s| !s.is_empty()),
    }
}

#[derive(Template)]
#[template(path = "dev/mail.html")]
struct Outbox {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    messages: Vec<services::mail::Delivered>,
}

pub async fn outbox(State(state): State<AppState>) -> Response {
    let Some(dir) = &state.settings.mail_outbox else {
        return error_page(&state, StatusCode::NOT_FOUND, None);
    };
    render(
        StatusCode::OK,
        &Outbox {
            meta: Meta::new(
                &state,
                "/_dev/mail",
                "Mail outbox",
                "Mail sent by this deployment",
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            messages: services::mail::outbox(dir),
        },
    )
}
