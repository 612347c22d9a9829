//! The profile (`/profile`): name, legal address and a new email address (confirmed from
//! a link sent to it, `/change-email/{token}`).

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::catalog::validate::FieldErrors;
use services::accounts::{self as use_cases, FormError};
use store::accounts::{self, User};

use super::{FormPage, address_from, current_user, field, message};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Flash, render};

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
        page.meta.flash = Some(Flash {
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
