//! Enrollment-code sheets for staff (MITx Online §9.3): which batch of codes is shown in
//! which Google spreadsheet tab, kept current every hour and after each use of a code.

use askama::Template;
use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;
use store::commerce::code_sheets::{self, CodeSheet};

use super::{StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Flash, Meta, assets, render, text};

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

async fn page(
    state: &AppState,
    who: String,
    form: Target,
    refused: Option<String>,
) -> Result<Response, PageError> {
    let sheets = code_sheets::list(state.store.db()).await?;
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
    Ok(render(
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
    ))
}

pub async fn list(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    page(&state, who, Target::default(), None).await
}

/// Shows a batch in a spreadsheet tab (or moves it to another), and writes it now.
pub async fn set(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Form(mut form): Form<Target>,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let (batch, spreadsheet) = (
        form.batch.trim().to_string(),
        form.spreadsheet.trim().to_string(),
    );
    let tab = Some(form.tab.trim())
        .filter(|t| !t.is_empty())
        .unwrap_or("Sheet1")
        .to_string();
    let known = store::commerce::discounts::batch_exists(db, &batch).await?;
    let refused = match known {
        false => Some(format!("There is no batch of codes named {batch:?}.")),
        true if spreadsheet.is_empty() => Some("The spreadsheet's id is required.".to_string()),
        true => None,
    };
    if refused.is_some() {
        form.tab = tab;
        return page(&state, who, form, refused).await;
    }
    services::sheets::code_sheets::show(&state.store, &batch, &spreadsheet, &tab, state.now())
        .await?;
    tracing::info!(staff = %who, %batch, %spreadsheet, %tab, "enrollment-code sheet set");
    Ok(Redirect::to("/staff/code-sheets/").into_response())
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
) -> Result<Response, PageError> {
    services::sheets::code_sheets::stop_showing(&state.store, &form.batch).await?;
    tracing::info!(staff = %who, batch = %form.batch, "enrollment-code sheet removed");
    Ok(Redirect::to("/staff/code-sheets/").into_response())
}
