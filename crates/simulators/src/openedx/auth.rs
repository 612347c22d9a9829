//! The sign-in side of the simulated LMS, as real Open edX does it: social-auth login through
//! Registrar's OAuth2 provider (calling Registrar back for the code exchange and user info,
//! and taking the learner's current email from it), the edX session that sets, and edX's own
//! OAuth2 provider minting per-user API tokens by authorization code and refresh.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Redirect, Response};
use serde::Deserialize;
use serde_json::json;

use super::{CLIENT_ID, CLIENT_SECRET, OpenEdx, faults};
use crate::faults::escape;

/// The name of Registrar's backend in edX's social-auth settings.
pub const SOCIAL_BACKEND: &str = "ol-oauth2";
const SESSION_COOKIE: &str = "edx_sim_session";

/// Where the simulated edX signs learners in: Registrar's OAuth2 provider.
#[derive(Clone, Debug)]
pub struct Provider {
    /// Registrar's root URL.
    pub registrar_url: String,
    /// The application Registrar registered for edX.
    pub client_id: String,
    pub client_secret: String,
    /// This simulator's own root URL, which the redirect URI is built on.
    pub public_url: String,
}

impl Provider {
    /// The redirect URI to register with Registrar for this edX.
    pub fn redirect_uri(&self) -> String {
        format!(
            "{}/auth/complete/{SOCIAL_BACKEND}/",
            self.public_url.trim_end_matches('/')
        )
    }
}

#[derive(Default)]
struct Grants {
    /// Social-auth `state` values handed out and not yet returned.
    states: HashSet<String>,
    /// edX session id → username.
    sessions: HashMap<String, String>,
    /// Authorization code → (username, redirect URI).
    codes: HashMap<String, (String, String)>,
    /// Access token → (username, still valid).
    access: HashMap<String, (String, bool)>,
    /// Refresh token → username; each works once.
    refresh: HashMap<String, String>,
}

#[derive(Default)]
pub struct Auth {
    provider: std::sync::Mutex<Option<Provider>>,
    grants: std::sync::Mutex<Grants>,
}

impl Auth {
    pub fn set_provider(&self, provider: Provider) {
        *self.provider.lock().expect("simulator lock") = Some(provider);
    }

    fn provider(&self) -> Option<Provider> {
        self.provider.lock().expect("simulator lock").clone()
    }

    fn grants(&self) -> std::sync::MutexGuard<'_, Grants> {
        self.grants.lock().expect("simulator lock")
    }

    /// Makes every access token issued so far stop working, as time would.
    pub fn expire_access_tokens(&self) {
        for (_, valid) in self.grants().access.values_mut() {
            *valid = false;
        }
    }

    /// Forgets every token issued so far (an edX reset): refreshes answer `invalid_grant`.
    pub fn revoke_tokens(&self) {
        let mut grants = self.grants();
        grants.access.clear();
        grants.refresh.clear();
    }

    /// The learner a valid user access token stands for.
    pub fn token_user(&self, headers: &HeaderMap) -> Option<String> {
        let token = headers
            .get(header::AUTHORIZATION)?
            .to_str()
            .ok()?
            .strip_prefix("Bearer ")?;
        match self.grants().access.get(token.trim()) {
            Some((username, true)) => Some(username.clone()),
            _ => None,
        }
    }

    fn issue(&self, username: &str) -> serde_json::Value {
        let (access, refresh) = (random(), random());
        let mut grants = self.grants();
        grants
            .access
            .insert(access.clone(), (username.to_string(), true));
        grants.refresh.insert(refresh.clone(), username.to_string());
        json!({"access_token": access, "refresh_token": refresh, "token_type": "Bearer", "expires_in": 36000, "scope": "read write"})
    }
}

fn random() -> String {
    format!("{:032x}", rand::random::<u128>())
}

fn refused(status: StatusCode, error: &str) -> Response {
    (status, Json(json!({"error": error}))).into_response()
}

fn session_user(state: &OpenEdx, headers: &HeaderMap) -> Option<String> {
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    let sid = cookies.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == SESSION_COOKIE).then(|| value.to_string())
    })?;
    state.auth.grants().sessions.get(&sid).cloned()
}

/// `GET /auth/login/{backend}/`: hands the browser to Registrar's authorize endpoint.
pub(super) async fn login(
    State(state): State<Arc<OpenEdx>>,
    Path(backend): Path<String>,
) -> Response {
    if let Some(failure) = faults(&state, "GET /auth/login/{backend}/").await {
        return failure;
    }
    let Some(provider) = state.auth.provider().filter(|_| backend == SOCIAL_BACKEND) else {
        return (StatusCode::NOT_FOUND, "no such social-auth backend").into_response();
    };
    let nonce = random();
    state.auth.grants().states.insert(nonce.clone());
    let authorize = reqwest::Url::parse_with_params(
        &format!(
            "{}/oauth2/authorize/",
            provider.registrar_url.trim_end_matches('/')
        ),
        [
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", provider.redirect_uri().as_str()),
            ("response_type", "code"),
            ("state", nonce.as_str()),
        ],
    );
    match authorize {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct Completion {
    code: Option<String>,
    state: Option<String>,
}

#[derive(Deserialize)]
struct ProviderToken {
    access_token: String,
}

#[derive(Deserialize)]
struct Userinfo {
    username: String,
    email: String,
    name: String,
}

/// Exchanges Registrar's code and reads who signed in, as edX's social-auth pipeline does.
async fn userinfo(provider: &Provider, code: &str) -> Result<Userinfo, String> {
    integrations::install_tls_provider();
    let http = reqwest::Client::new();
    let root = provider.registrar_url.trim_end_matches('/');
    let token: ProviderToken = http
        .post(format!("{root}/oauth2/access_token/"))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", provider.redirect_uri().as_str()),
            ("client_id", provider.client_id.as_str()),
            ("client_secret", provider.client_secret.as_str()),
        ])
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("code exchange: {e}"))?
        .json()
        .await
        .map_err(|e| format!("code exchange: {e}"))?;
    http.get(format!("{root}/api/users/me"))
        .bearer_auth(token.access_token)
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("user info: {e}"))?
        .json()
        .await
        .map_err(|e| format!("user info: {e}"))
}

/// `GET /auth/complete/{backend}/`: signs the learner in to edX, taking name and email from
/// Registrar (which is how an email change reaches edX).
pub(super) async fn complete(
    State(state): State<Arc<OpenEdx>>,
    Query(completion): Query<Completion>,
) -> Response {
    if let Some(failure) = faults(&state, "GET /auth/complete/{backend}/").await {
        return failure;
    }
    let Some(provider) = state.auth.provider() else {
        return (StatusCode::NOT_FOUND, "no social-auth backend").into_response();
    };
    let known_state = completion
        .state
        .is_some_and(|s| state.auth.grants().states.remove(&s));
    let (true, Some(code)) = (known_state, completion.code) else {
        return (StatusCode::BAD_REQUEST, "AuthStateMissing or no code").into_response();
    };
    let info = match userinfo(&provider, &code).await {
        Ok(info) => info,
        Err(e) => return (StatusCode::BAD_GATEWAY, e).into_response(),
    };
    {
        let mut users = state.users.lock().expect("simulator lock");
        let Some(user) = users.get_mut(&info.username) else {
            return (
                StatusCode::FORBIDDEN,
                format!("no edX account for {}", info.username),
            )
                .into_response();
        };
        user.email = info.email;
        user.name = info.name;
    }
    let sid = random();
    state
        .auth
        .grants()
        .sessions
        .insert(sid.clone(), info.username);
    (
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}={sid}; Path=/; HttpOnly"),
        )],
        Redirect::to(&format!(
            "{}/dashboard",
            provider.public_url.trim_end_matches('/')
        )),
    )
        .into_response()
}

/// `GET /dashboard`: where a signed-in learner lands.
pub(super) async fn dashboard(State(state): State<Arc<OpenEdx>>, headers: HeaderMap) -> Response {
    match session_user(&state, &headers) {
        Some(username) => Html(format!(
            "<!doctype html><title>Dashboard</title><p>Signed in to the simulated edX as {}.</p>",
            escape(&username)
        ))
        .into_response(),
        None => (StatusCode::UNAUTHORIZED, "not signed in").into_response(),
    }
}

#[derive(Deserialize)]
pub(super) struct AuthorizeQuery {
    client_id: String,
    redirect_uri: String,
    response_type: String,
}

/// `GET /oauth2/authorize`: edX's own provider; the learner's edX session grants a code.
pub(super) async fn authorize(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Query(query): Query<AuthorizeQuery>,
) -> Response {
    if let Some(failure) = faults(&state, "GET /oauth2/authorize").await {
        return failure;
    }
    if query.client_id != CLIENT_ID || query.response_type != "code" {
        return refused(StatusCode::BAD_REQUEST, "invalid_client");
    }
    let Some(username) = session_user(&state, &headers) else {
        return (StatusCode::UNAUTHORIZED, "sign in to edX first").into_response();
    };
    let code = random();
    state
        .auth
        .grants()
        .codes
        .insert(code.clone(), (username, query.redirect_uri.clone()));
    match reqwest::Url::parse_with_params(&query.redirect_uri, [("code", code.as_str())]) {
        Ok(url) => Redirect::to(url.as_str()).into_response(),
        Err(_) => refused(StatusCode::BAD_REQUEST, "invalid_request"),
    }
}

/// `POST /oauth2/access_token`: client credentials (the service token), authorization code
/// and refresh (per-user tokens).
pub(super) async fn token(
    State(state): State<Arc<OpenEdx>>,
    axum::extract::Form(form): axum::extract::Form<HashMap<String, String>>,
) -> Response {
    if let Some(failure) = faults(&state, "POST /oauth2/access_token").await {
        return failure;
    }
    let get = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if get("client_id") != CLIENT_ID || get("client_secret") != CLIENT_SECRET {
        return refused(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    let username = match get("grant_type") {
        "client_credentials" => {
            return Json(json!({"access_token": super::SERVICE_TOKEN, "token_type": "Bearer", "expires_in": 36000, "scope": "read write"})).into_response();
        }
        "authorization_code" => state
            .auth
            .grants()
            .codes
            .remove(get("code"))
            .filter(|(_, uri)| uri == get("redirect_uri"))
            .map(|(username, _)| username),
        "refresh_token" => state.auth.grants().refresh.remove(get("refresh_token")),
        _ => return refused(StatusCode::BAD_REQUEST, "unsupported_grant_type"),
    };
    match username {
        Some(username) => Json(state.auth.issue(&username)).into_response(),
        None => refused(StatusCode::BAD_REQUEST, "invalid_grant"),
    }
}

#[derive(Deserialize)]
pub(super) struct EmailSettings {
    course_id: String,
    receive_emails: Option<String>,
}

/// `POST /api/change_email_settings`: the learner (by their own token) opts in to or out of
/// a course's email; a missing `receive_emails` means out.
pub(super) async fn email_settings(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    axum::extract::Form(form): axum::extract::Form<EmailSettings>,
) -> Response {
    if let Some(failure) = faults(&state, "POST /api/change_email_settings").await {
        return failure;
    }
    let Some(username) = state.auth.token_user(&headers) else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"detail": "Invalid token."})),
        )
            .into_response();
    };
    let receive = form.receive_emails.as_deref() == Some("on");
    state
        .email_settings
        .lock()
        .expect("simulator lock")
        .insert((username, form.course_id), receive);
    Json(json!({"success": true})).into_response()
}
