//! Learner account pages: sign-up, email verification, sign-in and out, password reset,
//! profile and legal address, change of email, the dashboard, and the demo's mail outbox.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::accounts::{COUNTRIES, LegalAddress};
use domain::catalog::validate::FieldErrors;
use services::accounts::{self as use_cases, FormError, SignIn, SignUp};
use store::accounts::{self, SESSION_COOKIE, User};

use super::{Meta, assets, error_page, render};
use crate::AppState;
use crate::csrf::cookie_value;
use crate::error::PageError;

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

/// The signed-in learner, if any.
pub async fn current_user(state: &AppState, headers: &HeaderMap) -> Option<User> {
    if let Some(user) = crate::gateway::current() {
        return Some(user);
    }
    let id = cookie_value(headers, SESSION_COOKIE)?;
    accounts::session_user(state.store.db(), &id, state.now())
        .await
        .ok()
        .flatten()
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

fn signup_page(
    state: &AppState,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let fields = vec![
        field("email", "Email", "email", "email", values, errors),
        field("name", "Full name", "text", "name", values, errors),
        field(
            "username",
            "Username (also your Open edX username)",
            "text",
            "username",
            values,
            errors,
        ),
        field(
            "password",
            "Password (at least 8 characters, not only digits)",
            "password",
            "new-password",
            values,
            errors,
        ),
        field(
            "first_name",
            "Legal first name",
            "text",
            "given-name",
            values,
            errors,
        ),
        field(
            "last_name",
            "Legal last name",
            "text",
            "family-name",
            values,
            errors,
        ),
    ];
    let mut page = FormPage::new(
        state,
        "/signup",
        "Create an account",
        "Create account",
        fields,
    )
    .with_address(address_from(values), errors);
    if !errors.is_empty() {
        page.form_error =
            Some("Your account was not created: correct the fields marked below.".to_string());
    }
    page.links = vec![("/signin", "Already have an account? Sign in")];
    page.captcha = state.settings.recaptcha.as_ref().map(|r| Captcha {
        simulated: r.simulated,
        site_key: r.site_key.clone(),
        error: errors.get("captcha").map(|m| m.join("; ")),
    });
    render(status, &page)
}

pub async fn signup_form(State(state): State<AppState>) -> Response {
    signup_page(
        &state,
        &HashMap::new(),
        &FieldErrors::default(),
        StatusCode::OK,
    )
}

pub async fn signup(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| values.get(k).cloned().unwrap_or_default();
    if let Some(recaptcha) = &state.settings.recaptcha {
        let token = values
            .get("g-recaptcha-response")
            .map(String::as_str)
            .unwrap_or_default();
        match recaptcha.verifier.verify(token, None).await {
            Ok(true) => {}
            Ok(false) => {
                let mut errors = FieldErrors::default();
                errors.add("captcha", "please confirm you are not a robot");
                return Ok(signup_page(
                    &state,
                    &values,
                    &errors,
                    StatusCode::BAD_REQUEST,
                ));
            }
            Err(error) => {
                tracing::warn!(%error, "reCAPTCHA unavailable; sign-up refused");
                let mut errors = FieldErrors::default();
                errors.add(
                    "captcha",
                    "the robot check is unavailable; try again in a minute",
                );
                return Ok(signup_page(
                    &state,
                    &values,
                    &errors,
                    StatusCode::SERVICE_UNAVAILABLE,
                ));
            }
        }
    }
    let form = SignUp {
        email: get("email"),
        username: get("username"),
        name: get("name"),
        password: get("password"),
        address: address_from(&values),
        hubspotutk: crate::csrf::cookie_value(&headers, "hubspotutk"),
    };
    let result = use_cases::sign_up(
        &state.store,
        &form,
        &state.settings.base_url,
        state.settings.onboarding,
        state.now(),
    )
    .await;
    match result {
        Ok(user) => {
            tracing::info!(user = user.id, "account created; verification mailed");
            Ok(message(
                &state,
                StatusCode::OK,
                "Check your email",
                format!(
                    "We sent a link to {} to confirm the address. Follow it to finish creating your account.",
                    user.email
                ),
                vec![("/signin", "Sign in")],
            ))
        }
        Err(FormError::Invalid(errors)) => Ok(signup_page(
            &state,
            &values,
            &errors,
            StatusCode::BAD_REQUEST,
        )),
        Err(FormError::Db(error)) => Err(error.into()),
    }
}

pub async fn verify(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let verified = use_cases::verify(&state.store, &token, state.now()).await?;
    Ok(match verified {
        Some(_) => message(
            &state,
            StatusCode::OK,
            "Email confirmed",
            "Your email address is confirmed. You can sign in now.",
            vec![("/signin", "Sign in")],
        ),
        None => message(
            &state,
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "It has expired or was already used. Sign in to have a new one sent, or reset your password.",
            vec![("/reset", "Reset your password")],
        ),
    })
}

fn signin_page(
    state: &AppState,
    values: &HashMap<String, String>,
    form_error: Option<String>,
    status: StatusCode,
) -> Response {
    let none = FieldErrors::default();
    let fields = vec![
        field("email", "Email", "email", "email", values, &none),
        field(
            "password",
            "Password",
            "password",
            "current-password",
            values,
            &none,
        ),
    ];
    let next = values.get("next").cloned().unwrap_or_default();
    let action = if next.is_empty() {
        "/signin".to_string()
    } else {
        format!(
            "/signin?next={}",
            form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()
        )
    };
    let mut page = FormPage::new(state, "/signin", "Sign in", "Sign in", fields);
    page.action = action;
    page.form_error = form_error;
    page.links = vec![
        ("/signup", "Create an account"),
        ("/reset", "Forgot your password?"),
    ];
    render(status, &page)
}

pub async fn signin_form(
    State(state): State<AppState>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let params = crate::api::Params::parse(query.as_deref());
    let values = params
        .get("next")
        .map(|n| HashMap::from([("next".to_string(), n.to_string())]))
        .unwrap_or_default();
    signin_page(&state, &values, None, StatusCode::OK)
}

/// Where to go after signing in: a path on this site only, never another host.
fn local_next(state: &AppState, next: Option<&str>) -> String {
    next.and_then(|n| crate::redirect::on_site(&state.settings.base_url, n))
        .unwrap_or_else(|| "/dashboard".to_string())
}

pub async fn signin(
    State(state): State<AppState>,
    headers: HeaderMap,
    crate::client_ip::ClientIp(ip): crate::client_ip::ClientIp,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
    Form(mut values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    // The form posts to `/signin?next=…`: where to go after is in the address.
    if let Some(next) = crate::api::Params::parse(query.as_deref()).get("next") {
        values
            .entry("next".to_string())
            .or_insert_with(|| next.to_string());
    }
    let email = values
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    let password = values.get("password").cloned().unwrap_or_default();
    let source = ip.map_or_else(|| "unknown".to_string(), |ip| ip.to_string());
    let outcome =
        use_cases::sign_in_from(&state.store, &email, &password, &source, state.now()).await?;
    Ok(match outcome {
        SignIn::Ok(user) => {
            let session = use_cases::start_session(&state.store, user.id, state.now()).await?;
            let secure = if state.settings.base_url.starts_with("https://") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{SESSION_COOKIE}={session}; Path=/; HttpOnly; SameSite=Lax; Max-Age={}{secure}",
                use_cases::SESSION.num_seconds()
            );
            let mut response = (
                [(header::SET_COOKIE, cookie)],
                Redirect::to(&local_next(&state, values.get("next").map(String::as_str))),
            )
                .into_response();
            // What the visitor put in a basket before signing in is theirs now.
            if let Some(clear) = super::shop::hand_over(&state, &headers, user.id).await
                && let Ok(value) = header::HeaderValue::from_str(&clear)
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        SignIn::Unverified => signin_page(
            &state,
            &values,
            Some("Confirm your email address first: follow the link we sent you.".to_string()),
            StatusCode::BAD_REQUEST,
        ),
        SignIn::UnderReview => signin_page(
            &state,
            &values,
            Some("Your account is being reviewed and is not active yet. Try again in a few minutes; if this persists, contact support.".to_string()),
            StatusCode::FORBIDDEN,
        ),
        SignIn::Denied => message(
            &state,
            StatusCode::FORBIDDEN,
            "We cannot activate your account",
            "Sorry, we cannot create an account for you at this time. Please contact support.".to_string(),
            Vec::new(),
        ),
        SignIn::Throttled { minutes } => {
            tracing::warn!(%email, %source, "sign-in rate-limited");
            signin_page(
                &state,
                &values,
                Some(format!(
                    "Too many failed attempts. Wait {minutes} minute{} or reset your password.",
                    if minutes == 1 { "" } else { "s" }
                )),
                StatusCode::TOO_MANY_REQUESTS,
            )
        }
        SignIn::Refused => signin_page(
            &state,
            &values,
            Some("That email and password do not match an account.".to_string()),
            StatusCode::BAD_REQUEST,
        ),
    })
}

pub async fn signout(State(state): State<AppState>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie_value(&headers, SESSION_COOKIE) {
        let _ = use_cases::sign_out(&state.store, &id).await;
    }
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"),
        )],
        Redirect::to("/catalog/"),
    )
        .into_response()
}

pub async fn reset_form(State(state): State<AppState>) -> Response {
    let fields = vec![field(
        "email",
        "Email",
        "email",
        "email",
        &HashMap::new(),
        &FieldErrors::default(),
    )];
    let mut page = FormPage::new(
        &state,
        "/reset",
        "Reset your password",
        "Send a reset link",
        fields,
    );
    page.intro = Some("We will email you a link to choose a new password.".to_string());
    render(StatusCode::OK, &page)
}

pub async fn reset_request(
    State(state): State<AppState>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let email = values
        .get("email")
        .map(|e| e.trim().to_lowercase())
        .unwrap_or_default();
    if state.limits.reset.blocked(&email) {
        return Ok(message(
            &state,
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            "Several reset links were sent to this address recently. Check your email, or try again in an hour.",
            vec![],
        ));
    }
    state.limits.reset.record(&email);
    use_cases::request_reset(&state.store, &email, &state.settings.base_url, state.now()).await?;
    Ok(message(
        &state,
        StatusCode::OK,
        "Check your email",
        "If an account uses this address, a link to reset its password is on its way.",
        vec![("/signin", "Sign in")],
    ))
}

fn new_password_page(
    state: &AppState,
    token: &str,
    errors: &FieldErrors,
    status: StatusCode,
) -> Response {
    let fields = vec![field(
        "password",
        "New password",
        "password",
        "new-password",
        &HashMap::new(),
        errors,
    )];
    let mut page = FormPage::new(
        state,
        &format!("/reset/{token}"),
        "Choose a new password",
        "Save password",
        fields,
    );
    page.form_error = errors.get("token").map(|m| m.join("; "));
    render(status, &page)
}

pub async fn new_password_form(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Response {
    new_password_page(&state, &token, &FieldErrors::default(), StatusCode::OK)
}

pub async fn new_password(
    State(state): State<AppState>,
    Path(token): Path<String>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let password = values.get("password").cloned().unwrap_or_default();
    let result = use_cases::reset(&state.store, &token, &password, state.now()).await;
    match result {
        Ok(_) => Ok(message(
            &state,
            StatusCode::OK,
            "Password changed",
            "Your password is changed and you are signed out everywhere. Sign in with the new one.",
            vec![("/signin", "Sign in")],
        )),
        Err(FormError::Invalid(errors)) => Ok(new_password_page(
            &state,
            &token,
            &errors,
            StatusCode::BAD_REQUEST,
        )),
        Err(FormError::Db(error)) => Err(error.into()),
    }
}

pub struct EnrollmentRow {
    pub id: i64,
    pub course_title: String,
    pub course_url: String,
    pub courseware_id: String,
    pub dates: String,
    pub mode: String,
    pub status: String,
    pub edx: String,
    pub active: bool,
    pub course_emails: bool,
}

#[derive(Template)]
#[template(path = "account/dashboard.html")]
struct Dashboard {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    user: User,
    enrollments: Vec<EnrollmentRow>,
    certificates: Vec<super::certificates::Shown>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let snapshot = state.catalog.get().await?;
    let rows = store::enrollments::of_user(state.store.db(), user.id).await?;
    let enrollments = rows
        .into_iter()
        .filter_map(|e| {
            let (course, run) = snapshot.view.run(e.run_id)?;
            let dates = match (run.window.start, run.window.end) {
                (Some(s), Some(end)) => {
                    format!("{} – {}", super::text::date(s), super::text::date(end))
                }
                (Some(s), None) => format!("From {}", super::text::date(s)),
                _ => "Dates to be announced".to_string(),
            };
            Some(EnrollmentRow {
                id: e.id,
                course_title: course.title.clone(),
                course_url: format!("/courses/{}/", course.readable_id),
                courseware_id: run.courseware_id.clone(),
                dates,
                mode: e.mode.clone(),
                status: if e.active {
                    "Enrolled".to_string()
                } else {
                    format!(
                        "Not enrolled ({})",
                        e.change_status.clone().unwrap_or_default()
                    )
                },
                edx: match (e.edx_enrolled, &e.edx_error, e.active) {
                    (true, _, _) => "In Open edX".to_string(),
                    (false, Some(error), _) => {
                        format!("Waiting for Open edX (last error: {error})")
                    }
                    (false, None, true) => "Waiting for Open edX".to_string(),
                    (false, None, false) => "Removed".to_string(),
                },
                active: e.active,
                course_emails: e.edx_emails_subscription,
            })
        })
        .collect();
    let certificates = store::certificates::of_user(state.store.db(), user.id)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|c| !c.is_revoked)
        .filter_map(|c| super::certificates::shown(&snapshot.view, c, user.name.clone()))
        .collect();
    let mut meta = Meta::new(&state, "/dashboard", "Your dashboard", "Your enrollments");
    meta.signed_in = Some(user.email.clone());
    Ok(render(
        StatusCode::OK,
        &Dashboard {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            user,
            enrollments,
            certificates,
        },
    ))
}

/// Back to the dashboard after an enrollment change, or a page saying why it was refused.
fn enrollment_outcome<T>(
    state: &AppState,
    result: Result<T, services::enrollments::EnrollError>,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to("/dashboard").into_response()),
        Err(services::enrollments::EnrollError::Db(error)) => Err(error.into()),
        Err(error) => Ok(message(
            state,
            StatusCode::BAD_REQUEST,
            "That did not work",
            error.to_string(),
            vec![("/dashboard", "Your dashboard")],
        )),
    }
}

pub async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let Some(run_id) = values.get("run_id").and_then(|v| v.parse::<i64>().ok()) else {
        return Err(PageError::bad_request(
            "The form did not name a course run.",
        ));
    };
    let snapshot = state.catalog.get().await?;
    let result = services::enrollments::enroll_free(
        &state.store,
        &snapshot.view,
        user.id,
        run_id,
        state.now(),
    )
    .await;
    enrollment_outcome(&state, result)
}

/// The dashboard's course-email switch (`receive_emails` on or off).
pub async fn course_emails(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let receive = values.get("receive_emails").map(String::as_str) == Some("on");
    let result =
        services::enrollments::set_course_emails(&state.store, user.id, id, receive, state.now())
            .await;
    enrollment_outcome(&state, result)
}

pub async fn unenroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let result = services::enrollments::unenroll(&state.store, user.id, id, state.now()).await;
    enrollment_outcome(&state, result)
}

async fn profile_page(
    state: &AppState,
    user: &User,
    values: Option<&HashMap<String, String>>,
    errors: &FieldErrors,
    status: StatusCode,
    notice: Option<&str>,
) -> Response {
    let stored = accounts::address(state.store.db(), user.id)
        .await
        .ok()
        .flatten()
        .unwrap_or_default();
    let mut current = HashMap::from([
        ("name".to_string(), user.name.clone()),
        ("first_name".to_string(), stored.first_name.clone()),
        ("last_name".to_string(), stored.last_name.clone()),
        ("email".to_string(), String::new()),
    ]);
    let address = match values {
        Some(values) => {
            current.extend(values.clone());
            address_from(values)
        }
        None => stored,
    };
    let fields = vec![
        field("name", "Full name", "text", "name", &current, errors),
        field(
            "first_name",
            "Legal first name",
            "text",
            "given-name",
            &current,
            errors,
        ),
        field(
            "last_name",
            "Legal last name",
            "text",
            "family-name",
            &current,
            errors,
        ),
        field(
            "email",
            "New email address (leave empty to keep yours; we will ask you to confirm it)",
            "email",
            "email",
            &current,
            errors,
        ),
    ];
    let mut page = FormPage::new(state, "/profile", "Profile and address", "Save", fields)
        .with_address(address, errors);
    page.meta.signed_in = Some(user.email.clone());
    page.intro = Some(format!("Signed in as {} ({}).", user.email, user.username));
    if let Some(notice) = notice {
        page.meta.flash = Some(super::Flash {
            kind: "ok",
            message: notice.to_string(),
        });
    }
    if !errors.is_empty() {
        page.form_error = Some("Nothing was saved: correct the fields marked below.".to_string());
    }
    page.links = vec![("/dashboard", "Back to your dashboard")];
    render(status, &page)
}

pub async fn profile_form(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(user) = current_user(&state, &headers).await else {
        return Redirect::to("/signin").into_response();
    };
    profile_page(
        &state,
        &user,
        None,
        &FieldErrors::default(),
        StatusCode::OK,
        None,
    )
    .await
}

pub async fn profile(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let address = address_from(&values);
    let name = values.get("name").cloned().unwrap_or_default();
    let new_email = values
        .get("email")
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty());
    let result = use_cases::update_profile(
        &state.store,
        user.clone(),
        &name,
        &address,
        new_email.as_deref(),
        &state.settings.base_url,
        state.now(),
    )
    .await;
    match result {
        Ok(updated) => {
            let notice = if new_email.is_some() {
                "Saved. Confirm your new email address from the link we sent to it."
            } else {
                "Saved."
            };
            Ok(profile_page(
                &state,
                &updated,
                None,
                &FieldErrors::default(),
                StatusCode::OK,
                Some(notice),
            )
            .await)
        }
        Err(FormError::Invalid(errors)) => Ok(profile_page(
            &state,
            &user,
            Some(&values),
            &errors,
            StatusCode::BAD_REQUEST,
            None,
        )
        .await),
        Err(FormError::Db(error)) => Err(error.into()),
    }
}

pub async fn confirm_email(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let changed = use_cases::confirm_email_change(&state.store, &token, state.now()).await?;
    Ok(match changed {
        Some(user) => message(
            &state,
            StatusCode::OK,
            "Email changed",
            format!("Your account now uses {}.", user.email),
            vec![("/dashboard", "Your dashboard")],
        ),
        None => message(
            &state,
            StatusCode::BAD_REQUEST,
            "This link does not work",
            "It has expired, was already used, or the address is now taken.",
            vec![("/profile", "Profile")],
        ),
    })
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
