//! Sign-up (`/signup`, with the robot check when one is configured) and the email
//! verification link (`/verify/{token}`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::catalog::validate::FieldErrors;
use services::accounts::{self as use_cases, FormError, SignUp};

use super::{Captcha, FormPage, address_from, field, message};
use crate::AppState;
use crate::error::PageError;
use crate::pages::render;

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
