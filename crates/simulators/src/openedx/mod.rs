//! An Open edX LMS fake: the OAuth2 token endpoint, the account registration and accounts
//! APIs, enrollments, course email settings and the sign-in handshake (`auth`), with
//! in-memory state, knobs for latency, outages and expired course modes, and a page listing
//! what it holds. Mounted in-process by the demo under `/_simulators/openedx`.

mod auth;
mod courses;
mod grades;
mod webhooks;

use crate::faults::{Knobs, escape};

pub use auth::{Provider, SOCIAL_BACKEND};
pub use courses::SimCourse;
pub use grades::SimGrade;
pub use webhooks::{Sent, Webhooks};

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Form, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};
use serde_json::json;

pub const CLIENT_ID: &str = "registrar-demo";
pub const CLIENT_SECRET: &str = "registrar-demo-secret";
const SERVICE_TOKEN: &str = "sim-service-token";

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EdxUser {
    pub username: String,
    pub email: String,
    pub name: String,
    pub country: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EdxEnrollment {
    pub username: String,
    pub course_id: String,
    pub mode: String,
    pub is_active: bool,
}

#[derive(Default)]
pub struct OpenEdx {
    pub users: Mutex<BTreeMap<String, EdxUser>>,
    /// Keyed by (username, course id), as edX keeps one enrollment per pair.
    pub enrollments: Mutex<BTreeMap<(String, String), EdxEnrollment>>,
    pub knobs: Knobs,
    /// Course modes edX reports as expired: enrolling in them is refused.
    pub expired_modes: Mutex<Vec<String>>,
    /// Every API call received, as `METHOD path`, for tests that count calls.
    pub calls: Mutex<Vec<String>>,
    /// Course email opt-ins by (username, course id).
    pub email_settings: Mutex<BTreeMap<(String, String), bool>>,
    /// Grades by (course id, username).
    pub grades: Mutex<BTreeMap<(String, String), SimGrade>>,
    /// Course runs by course key.
    pub courses: Mutex<BTreeMap<String, SimCourse>>,
    /// Course modes by course key.
    modes: Mutex<BTreeMap<String, Vec<integrations::openedx::EdxCourseMode>>>,
    /// Where webhooks go, when they are sent, and what was sent.
    webhooks: Mutex<Option<Webhooks>>,
    sent: Mutex<Vec<Sent>>,
    pub auth: auth::Auth,
}

impl OpenEdx {
    pub fn users(&self) -> Vec<EdxUser> {
        self.users
            .lock()
            .expect("simulator lock")
            .values()
            .cloned()
            .collect()
    }

    pub fn enrollments(&self) -> Vec<EdxEnrollment> {
        self.enrollments
            .lock()
            .expect("simulator lock")
            .values()
            .cloned()
            .collect()
    }
}

pub fn router(state: Arc<OpenEdx>) -> Router {
    Router::new()
        .route("/", get(page))
        .route("/oauth2/access_token", post(auth::token))
        .route("/oauth2/authorize", get(auth::authorize))
        .route("/auth/login/{backend}/", get(auth::login))
        .route("/auth/complete/{backend}/", get(auth::complete))
        .route("/dashboard", get(auth::dashboard))
        .route("/api/change_email_settings", post(auth::email_settings))
        .route("/user_api/v1/account/registration/", post(register))
        .route("/api/user/v1/accounts", get(accounts))
        .route(
            "/api/user/v1/accounts/{username}",
            axum::routing::patch(update_account),
        )
        .route("/api/enrollment/v1/enrollment", post(enroll))
        .route(
            "/api/grades/v1/courses/{course_id}/",
            get(grades::course_grades),
        )
        .route("/_grades", post(grades::set_grade))
        .route("/_enroll", post(webhooks::enroll_in_edx))
        .route("/api/courses/v1/courses/", get(courses::courses))
        .route(
            "/api/course_modes/v1/courses/{course_id}/",
            get(courses::course_modes).post(courses::create_course_mode),
        )
        .route(
            "/_control",
            post(|State(state): State<Arc<OpenEdx>>, control| async move {
                state.knobs.control(control)
            }),
        )
        .with_state(state)
}

/// Records the call, then applies latency and injected failures; `Some` is the failure
/// to answer with.
pub(super) async fn faults(state: &OpenEdx, call: &str) -> Option<Response> {
    state
        .calls
        .lock()
        .expect("simulator lock")
        .push(call.to_string());
    state.knobs.inject().await
}

#[derive(Deserialize)]
struct Registration {
    username: String,
    email: String,
    name: String,
    #[serde(default)]
    country: String,
    #[serde(default)]
    password: String,
}

/// What every API call passes first: injected faults, then the service token.
async fn guard(state: &OpenEdx, headers: &HeaderMap, call: &str) -> Option<Response> {
    if let Some(failure) = faults(state, call).await {
        return Some(failure);
    }
    (!authorized(headers)).then(|| {
        (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Authentication credentials were not provided."})),
        )
            .into_response()
    })
}

fn authorized(headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {SERVICE_TOKEN}"))
}

/// Open edX answers a taken username or email with 409 and per-field messages.
async fn register(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Form(form): Form<Registration>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, "POST /user_api/v1/account/registration/").await
    {
        return refused;
    }
    if form.password.len() < 8 || form.email.is_empty() || form.username.is_empty() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"password": [{"user_message": "This password is too short."}]})),
        )
            .into_response();
    }
    let mut users = state.users.lock().expect("simulator lock");
    let username_taken = users.contains_key(&form.username);
    let email_taken = users.values().any(|u| u.email == form.email);
    if username_taken || email_taken {
        let mut body = serde_json::Map::new();
        if email_taken {
            body.insert("email".into(), json!([{"user_message": format!("It looks like {} belongs to an existing account.", form.email)}]));
        }
        if username_taken {
            body.insert("username".into(), json!([{"user_message": format!("It looks like {} belongs to an existing account.", form.username)}]));
            body.insert("error_code".into(), json!("duplicate-username"));
        } else {
            body.insert("error_code".into(), json!("duplicate-email"));
        }
        return (StatusCode::CONFLICT, Json(serde_json::Value::Object(body))).into_response();
    }
    users.insert(
        form.username.clone(),
        EdxUser {
            username: form.username,
            email: form.email,
            name: form.name,
            country: form.country,
        },
    );
    Json(json!({"success": true, "redirect_url": "/dashboard"})).into_response()
}

#[derive(Deserialize)]
struct AccountQuery {
    email: Option<String>,
    username: Option<String>,
}

/// The accounts API's lookup by `email` or `username` (a list, as edX answers).
async fn accounts(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    axum::extract::Query(query): axum::extract::Query<AccountQuery>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, "GET /api/user/v1/accounts").await {
        return refused;
    }
    let found: Vec<serde_json::Value> = state
        .users()
        .into_iter()
        .filter(|u| query.email.as_ref().is_none_or(|e| &u.email == e) && query.username.as_ref().is_none_or(|n| &u.username == n))
        .map(|u| json!({"username": u.username, "email": u.email, "name": u.name, "country": u.country}))
        .collect();
    Json(found).into_response()
}

#[derive(Deserialize)]
struct AccountPatch {
    name: Option<String>,
    email: Option<String>,
}

/// The accounts API's merge patch of name and email.
async fn update_account(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    axum::extract::Path(username): axum::extract::Path<String>,
    body: axum::body::Bytes,
) -> Response {
    if let Some(failure) = faults(&state, "PATCH /api/user/v1/accounts/{username}").await {
        return failure;
    }
    // The learner's own token, as the reference sends it; the service token also passes.
    if !authorized(&headers) && state.auth.token_user(&headers).as_ref() != Some(&username) {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid token."})),
        )
            .into_response();
    }
    let Ok(patch) = serde_json::from_slice::<AccountPatch>(&body) else {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"developer_message": "not a JSON merge patch"})),
        )
            .into_response();
    };
    let mut users = state.users.lock().expect("simulator lock");
    let Some(user) = users.get_mut(&username) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"developer_message": format!("no user {username}")})),
        )
            .into_response();
    };
    if let Some(name) = patch.name {
        user.name = name;
    }
    if let Some(email) = patch.email {
        user.email = email;
    }
    Json(json!({"username": user.username, "name": user.name, "email": user.email})).into_response()
}

#[derive(Deserialize)]
struct CourseDetails {
    course_id: String,
}

#[derive(Deserialize)]
struct EnrollmentRequest {
    user: String,
    #[serde(default = "audit")]
    mode: String,
    #[serde(default = "active")]
    is_active: bool,
    course_details: CourseDetails,
}

fn audit() -> String {
    "audit".to_string()
}

fn active() -> bool {
    true
}

/// The enrollment API: creates, updates (mode) or deactivates the user's enrollment.
/// Unknown users are refused as edX refuses them.
async fn enroll(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Json(request): Json<EnrollmentRequest>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, "POST /api/enrollment/v1/enrollment").await {
        return refused;
    }
    if !state
        .users
        .lock()
        .expect("simulator lock")
        .contains_key(&request.user)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": format!("The user {} does not exist.", request.user)})),
        )
            .into_response();
    }
    if request.is_active
        && state
            .expired_modes
            .lock()
            .expect("simulator lock")
            .contains(&request.mode)
    {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": format!(
                "The [{}] course mode is expired or otherwise unavailable for course run [{}].",
                request.mode, request.course_details.course_id
            )})),
        )
            .into_response();
    }
    let enrollment = EdxEnrollment {
        username: request.user.clone(),
        course_id: request.course_details.course_id.clone(),
        mode: request.mode,
        is_active: request.is_active,
    };
    state.enrollments.lock().expect("simulator lock").insert(
        (request.user, request.course_details.course_id),
        enrollment.clone(),
    );
    Json(json!({"user": enrollment.username, "mode": enrollment.mode, "is_active": enrollment.is_active, "course_details": {"course_id": enrollment.course_id}})).into_response()
}

async fn page(
    State(state): State<Arc<OpenEdx>>,
    axum::extract::OriginalUri(uri): axum::extract::OriginalUri,
) -> Html<String> {
    // Wherever the simulator is mounted, the grade form posts back under it.
    let base = uri.path().trim_end_matches('/');
    let grade_action = format!("{base}/_grades");
    let enroll_action = format!("{base}/_enroll");
    let sent: String = state
        .webhooks_sent()
        .iter()
        .map(|w| {
            format!(
                "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
                escape(&w.path),
                escape(&w.body.to_string()),
                w.status
            )
        })
        .collect();
    let rows: String = state
        .users()
        .iter()
        .map(|u| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&u.username),
                escape(&u.email),
                escape(&u.name),
                escape(&u.country)
            )
        })
        .collect();
    let enrollments: String = state
        .enrollments()
        .iter()
        .map(|e| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&e.username),
                escape(&e.course_id),
                escape(&e.mode),
                e.is_active
            )
        })
        .collect();
    let grades: String = state
        .grades
        .lock()
        .expect("simulator lock")
        .values()
        .map(|g| {
            format!(
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&g.username),
                escape(&g.course_id),
                g.percent,
                g.passed
            )
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Open edX simulator</title></head><body>\
         <h1>Open edX simulator</h1><p>Users this simulated LMS holds ({}).</p>\
         <table><thead><tr><th>Username</th><th>Email</th><th>Name</th><th>Country</th></tr></thead><tbody>{rows}</tbody></table>\
         <h2>Enrollments</h2><table><thead><tr><th>Username</th><th>Course</th><th>Mode</th><th>Active</th></tr></thead><tbody>{enrollments}</tbody></table>\
         <h2>Grades</h2><table><thead><tr><th>Username</th><th>Course</th><th>Percent</th><th>Passed</th></tr></thead><tbody>{grades}</tbody></table>\
         <h3>Grade a learner</h3><form method=\"post\" action=\"{grade_action}\">\
         <label>Username <input name=\"username\"></label> <label>Course <input name=\"course_id\"></label> \
         <label>Percent (0 to 1) <input name=\"percent\" value=\"0.85\"></label> \
         <label>Passed <select name=\"passed\"><option>true</option><option>false</option></select></label> \
         <button type=\"submit\">Set grade</button></form><p>A passing grade makes edX send the certificate webhook.</p>\
         <h3>Enroll a learner in edX itself</h3><form method=\"post\" action=\"{enroll_action}\">\
         <label>Username <input name=\"username\"></label> <label>Course <input name=\"course_id\"></label> \
         <button type=\"submit\">Enroll (sends the enrollment webhook)</button></form>\
         <h2>Webhooks sent</h2><table><thead><tr><th>Webhook</th><th>Body</th><th>Registrar's answer</th></tr></thead><tbody>{sent}</tbody></table></body></html>",
        state.users().len()
    ))
}
