//! Signing in (`/signin`, back to a path on this site after), signing out, and password
//! reset (`/reset`, rate-limited per address, and `/reset/{token}`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::validate::FieldErrors;
use services::accounts::{self as use_cases, FormError, SignIn};
use store::accounts::SESSION_COOKIE;

use super::{FormPage, field, message};
use crate::AppState;
use crate::csrf::cookie_value;
use crate::error::PageError;
use crate::pages::render;

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
    let params = crate::request::Params::parse(query.as_deref());
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
    if let Some(next) = crate::request::Params::parse(query.as_deref()).get("next") {
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
            if let Some(clear) = crate::pages::shop::hand_over(&state, &headers, user.id).await
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
