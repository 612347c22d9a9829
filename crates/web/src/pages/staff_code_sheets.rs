//! Enrollment-code sheets for staff (MITx Online §9.3): which batch of codes is shown in
//! which Google spreadsheet tab, kept current every hour and after each use of a code.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::commerce::code_sheets::{self, CodeSheet};

use super::staff::{StaffMember, meta};
use super::{Flash, Meta, assets, error_page, render, text};
use crate::AppState;

#[derive(Template)]
#[template(path = "staff/code_sheets.html")]
struct Page {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    configured: bool,
    sheets: Vec<(CodeSheet, String)>,
    form: Target,
}

#[derive(Debug, Default, Deserialize)]
pub struct Target {
    #[serde(default)]
    batch: String,
    #[serde(default)]
    spreadsheet: String,
    #[serde(default)]
    tab: String,
}

async fn page(state: &AppState, who: String, form: Target, refused: Option<String>) -> Response {
    let Ok(sheets) = code_sheets::list(state.store.db()).await else {
        return error_page(state, StatusCode::INTERNAL_SERVER_ERROR, None);
    };
    let mut page_meta = meta(
        state,
        "/staff/code-sheets/",
        "Enrollment-code sheets",
        Some(who),
        false,
    );
    let status = if refused.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page_meta.flash = refused.map(|message| Flash {
        kind: "error",
        message,
    });
    render(
        status,
        &Page {
            meta: page_meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            configured: state.settings.sheets.is_some(),
            sheets: sheets
                .into_iter()
                .map(|s| {
                    let updated = s
                        .updated_on
                        .map(text::date)
                        .unwrap_or_else(|| "not yet".into());
                    (s, updated)
                })
                .collect(),
            form,
        },
    )
}

pub async fn list(State(state): State<AppState>, StaffMember(who): StaffMember) -> Response {
    page(&state, who, Target::default(), None).await
}

/// Shows a batch in a spreadsheet tab (or moves it to another), and writes it now.
pub async fn set(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Form(mut form): Form<Target>,
) -> Response {
    let db = state.store.db();
    let (batch, spreadsheet) = (
        form.batch.trim().to_string(),
        form.spreadsheet.trim().to_string(),
    );
    let tab = Some(form.tab.trim())
        .filter(|t| !t.is_empty())
        .unwrap_or("Sheet1")
        .to_string();
    let known = store::commerce::discounts::batch_exists(db, &batch).await;
    let refused = match known {
        Err(_) => return error_page(&state, StatusCode::INTERNAL_SERVER_ERROR, None),
        Ok(false) => Some(format!("There is no batch of codes named {batch:?}.")),
        Ok(true) if spreadsheet.is_empty() => Some("The spreadsheet's id is required.".to_string()),
        Ok(true) => None,
    };
    if refused.is_some() {
        form.tab = tab;
        return page(&state, who, form, refused).await;
    }
    let saved =
        services::sheets::code_sheets::show(&state.store, &batch, &spreadsheet, &tab, state.now())
            .await;
    match saved {
        Ok(()) => {
            tracing::info!(staff = %who, %batch, %spreadsheet, %tab, "enrollment-code sheet set");
            Redirect::to("/staff/code-sheets/").into_response()
        }
        Err(_) => error_page(&state, StatusCode::INTERNAL_SERVER_ERROR, None),
    }
}

#[derive(Deserialize)]
pub struct Remove {
    batch: String,
}

/// Stops showing a batch (the spreadsheet keeps what it shows).
pub async fn remove(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Form(form): Form<Remove>,
) -> Response {
    match services::sheets::code_sheets::stop_showing(&state.store, &form.batch).await {
        Ok(()) => {
            tracing::info!(staff = %who, batch = %form.batch, "enrollment-code sheet removed");
            Redirect::to("/staff/code-sheets/").into_response()
        }
        Err(_) => error_page(&state, StatusCode::INTERNAL_SERVER_ERROR, None),
    }
}
