//! Program editing (`/staff/programs/`): the list, the creation form, and a program with
//! its price, signatories and requirement tree (edited as text). A rejected form comes
//! back with its values and a message per field.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use domain::catalog::validate::FieldErrors;
use domain::catalog::{Catalog, ProgramRecord, Signatory, Site, tree_text};

use super::catalog::{
    Row, asks_for_new, current_price, form_path, history, parse_price, save, set_price,
    set_signatories,
};
use super::{StaffMember, meta, same_origin};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render};
use crate::request::Params;

fn blank_program() -> ProgramRecord {
    serde_json::from_value(serde_json::json!({"readable_id": "", "title": ""}))
        .expect("a minimal program record")
}

#[derive(Template)]
#[template(path = "staff/programs.html")]
struct Programs {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    rows: Vec<Row>,
}

pub async fn programs(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    if asks_for_new(query) {
        return Ok(program_page(
            &state,
            who,
            ProgramForm::from_record(&blank_program(), true),
            StatusCode::OK,
            false,
        ));
    }
    let snapshot = state.catalog.get().await?;
    let mut rows: Vec<Row> = snapshot
        .view
        .programs
        .iter()
        .map(|p| Row {
            title: p.title.clone(),
            readable_id: p.readable_id.clone(),
            site: p.site.as_str(),
            runs: 0,
            live: p.live,
        })
        .collect();
    rows.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(render(
        StatusCode::OK,
        &Programs {
            meta: meta(&state, "/staff/programs/", "Programs", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            rows,
        },
    ))
}

pub struct ProgramForm {
    pub is_new: bool,
    pub site: String,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub program_type: String,
    pub price: String,
    pub current_price: String,
    pub history: Vec<String>,
    pub requirements: String,
    /// `Name | Title | Organization`, one per line.
    pub signatories: String,
    pub errors: FieldErrors,
}

impl ProgramForm {
    pub fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|m| m.join("; "))
    }

    fn from_record(record: &ProgramRecord, is_new: bool) -> Self {
        Self {
            is_new,
            site: record.site.as_str().to_string(),
            readable_id: record.readable_id.clone(),
            title: record.title.clone(),
            live: record.live,
            program_type: record.program_type.clone(),
            price: String::new(),
            current_price: current_price(&record.product),
            history: history(&record.product),
            requirements: tree_text::format(&record.requirements),
            signatories: Signatory::to_lines(
                &record
                    .page
                    .as_ref()
                    .map(|p| p.signatories.clone())
                    .unwrap_or_default(),
            ),
            errors: FieldErrors::default(),
        }
    }
}

#[derive(Template)]
#[template(path = "staff/program.html")]
struct ProgramPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    form: ProgramForm,
}

fn program_page(
    state: &AppState,
    who: String,
    form: ProgramForm,
    status: StatusCode,
    saved: bool,
) -> Response {
    let path = form_path("programs", form.is_new, &form.readable_id);
    let title = form.title.clone();
    render(
        status,
        &ProgramPage {
            meta: meta(state, &path, &title, Some(who), saved),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            form,
        },
    )
}

pub async fn program(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(readable_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let Some(program) = snapshot.view.program_by_readable_id(&readable_id) else {
        return Err(PageError::not_found(format!(
            "There is no program {readable_id}."
        )));
    };
    let saved = Params::parse(query.as_deref()).get("saved").is_some();
    Ok(program_page(
        &state,
        who,
        ProgramForm::from_record(&snapshot.view.program_record(program), false),
        StatusCode::OK,
        saved,
    ))
}

pub async fn create_program(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    store_program(&state, who, &headers, None, fields).await
}

pub async fn save_program(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Path(readable_id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    store_program(&state, who, &headers, Some(readable_id), fields).await
}

/// Creates the program (`existing` is `None`) or updates the one named `existing`.
async fn store_program(
    state: &AppState,
    who: String,
    headers: &HeaderMap,
    existing: Option<String>,
    fields: HashMap<String, String>,
) -> Result<Response, PageError> {
    if !same_origin(headers) {
        return Err(PageError::Refused(StatusCode::FORBIDDEN, None));
    }
    let snapshot = state.catalog.get().await?;
    let is_new = existing.is_none();
    let get = |key: &str| fields.get(key).cloned().unwrap_or_default();
    let mut record = match &existing {
        None => {
            let mut record = blank_program();
            record.site = Site::parse(&get("site")).unwrap_or_default();
            record.readable_id = get("readable_id").trim().to_string();
            record
        }
        Some(readable_id) => match snapshot.view.program_by_readable_id(readable_id) {
            Some(program) => snapshot.view.program_record(program),
            None => {
                return Err(PageError::not_found(format!(
                    "There is no program {readable_id}."
                )));
            }
        },
    };
    let mut form = ProgramForm::from_record(&record, is_new);
    if is_new
        && snapshot
            .view
            .program_by_readable_id(&record.readable_id)
            .is_some()
    {
        form.errors.add(
            "readable_id",
            "a program with this readable id already exists",
        );
    }
    form.title = get("title");
    form.live = fields.contains_key("live");
    form.program_type = get("program_type");
    form.price = get("price");
    form.requirements = get("requirements");
    form.signatories = get("signatories");
    set_signatories(&mut record.page, &form.signatories, &mut form.errors);
    record.title = form.title.trim().to_string();
    record.live = form.live;
    record.program_type = form.program_type.trim().to_string();
    match parse_price(&form.price) {
        Ok(Some(price)) => set_price(&mut record.product, price, &record.readable_id.clone()),
        Ok(None) => {}
        Err(message) => form.errors.add("price", message),
    }
    match tree_text::parse(&form.requirements) {
        Ok(tree) => record.requirements = tree,
        Err(error) => form.errors.add("requirements", error.to_string()),
    }
    if !form.errors.is_empty() {
        return Ok(program_page(
            state,
            who,
            form,
            StatusCode::BAD_REQUEST,
            false,
        ));
    }
    let target = record.readable_id.clone();
    let catalog = Catalog {
        programs: vec![record],
        ..Catalog::default()
    };
    let errors = match save(state, &who, "programs", &target, catalog).await? {
        Ok(redirect) => return Ok(redirect),
        Err(errors) => errors,
    };
    for (field, messages) in errors.fields() {
        let field = field.strip_prefix("programs[0].").unwrap_or(field);
        // Tree errors carry a node path; the editor has one field for the tree.
        let field = if field.starts_with("requirements") {
            "requirements"
        } else {
            field
        };
        for message in messages {
            form.errors.add(field, message.clone());
        }
    }
    Ok(program_page(
        state,
        who,
        form,
        StatusCode::BAD_REQUEST,
        false,
    ))
}
