//! Course editing (`/staff/courses/`): the list, the creation form, a course with its
//! runs, dates and prices, and a run's "sync now" (its grades, or its title and dates from
//! Open edX). A rejected form comes back with its values and a message per field.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::catalog::validate::FieldErrors;
use domain::catalog::{Catalog, CourseRecord, PageRecord, RunRecord, Signatory, Site};

use super::catalog::{
    Row, asks_for_new, current_price, form_path, history, parse_price, save, set_price,
    set_signatories,
};
use super::{StaffMember, meta, same_origin};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render};
use crate::request::Params;

#[derive(Template)]
#[template(path = "staff/courses.html")]
struct Courses {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    rows: Vec<Row>,
}

pub async fn courses(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    if asks_for_new(query) {
        return Ok(course_page(
            &state,
            who,
            CourseForm::from_record(&blank_course(), true),
            StatusCode::OK,
            false,
        ));
    }
    let snapshot = state.catalog.get().await?;
    let mut rows: Vec<Row> = snapshot
        .view
        .courses
        .iter()
        .filter(|c| !c.placeholder)
        .map(|c| Row {
            title: c.title.clone(),
            readable_id: c.readable_id.clone(),
            site: c.site.as_str(),
            runs: c.runs.len(),
            live: c.live,
        })
        .collect();
    rows.sort_by(|a, b| a.title.cmp(&b.title));
    Ok(render(
        StatusCode::OK,
        &Courses {
            meta: meta(&state, "/staff/courses/", "Courses", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            rows,
        },
    ))
}

fn when_text(value: Option<DateTime<Utc>>) -> String {
    value
        .map(|t| t.format("%Y-%m-%dT%H:%M").to_string())
        .unwrap_or_default()
}

fn parse_when(text: &str) -> Result<Option<DateTime<Utc>>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S"))
        .map(|t| Some(t.and_utc()))
        .map_err(|_| format!("\"{text}\" is not a date and time (YYYY-MM-DDTHH:MM, UTC)"))
}

pub struct RunForm {
    pub index: usize,
    pub courseware_id: String,
    pub title: String,
    pub start_date: String,
    pub end_date: String,
    pub enrollment_start: String,
    pub enrollment_end: String,
    pub upgrade_deadline: String,
    pub live: bool,
    pub is_self_paced: bool,
    pub price: String,
    pub current_price: String,
    pub history: Vec<String>,
}

impl RunForm {
    pub fn dates(&self) -> Vec<(&'static str, &'static str, &str)> {
        vec![
            ("start_date", "Starts", &self.start_date),
            ("end_date", "Ends", &self.end_date),
            (
                "enrollment_start",
                "Enrollment opens",
                &self.enrollment_start,
            ),
            ("enrollment_end", "Enrollment closes", &self.enrollment_end),
            (
                "upgrade_deadline",
                "Upgrade deadline",
                &self.upgrade_deadline,
            ),
        ]
    }
}

pub struct CourseForm {
    pub is_new: bool,
    pub site: String,
    pub readable_id: String,
    pub title: String,
    pub live: bool,
    pub description: String,
    pub duration: String,
    pub time_commitment: String,
    /// `Name | Title | Organization`, one per line.
    pub signatories: String,
    /// Country codes, separated by commas or spaces.
    pub blocked_countries: String,
    pub runs: Vec<RunForm>,
    pub new_run_id: String,
    pub errors: FieldErrors,
}

impl CourseForm {
    pub fn error(&self, field: &str) -> Option<String> {
        self.errors.get(field).map(|m| m.join("; "))
    }

    /// Every message about a list field (`name[0]`, `name[1]`, …).
    pub fn errors_under(&self, name: &str) -> Vec<String> {
        self.errors
            .fields()
            .filter(|(field, _)| field.starts_with(&format!("{name}[")))
            .flat_map(|(_, messages)| messages.iter().cloned())
            .collect()
    }

    pub fn run_error(&self, index: &usize, field: &str) -> Option<String> {
        self.error(&format!("runs[{index}].{field}"))
    }

    fn from_record(record: &CourseRecord, is_new: bool) -> Self {
        let page = record.page.clone().unwrap_or_default();
        Self {
            is_new,
            site: record.site.as_str().to_string(),
            readable_id: record.readable_id.clone(),
            title: record.title.clone(),
            live: record.live,
            description: page.description.unwrap_or_default(),
            duration: page.duration.unwrap_or_default(),
            time_commitment: page.time_commitment.unwrap_or_default(),
            signatories: Signatory::to_lines(&page.signatories),
            blocked_countries: record.blocked_countries.join(", "),
            runs: record
                .runs
                .iter()
                .enumerate()
                .map(|(index, r)| RunForm {
                    index,
                    courseware_id: r.courseware_id.clone(),
                    title: r.title.clone(),
                    start_date: when_text(r.start_date),
                    end_date: when_text(r.end_date),
                    enrollment_start: when_text(r.enrollment_start),
                    enrollment_end: when_text(r.enrollment_end),
                    upgrade_deadline: when_text(r.upgrade_deadline),
                    live: r.live,
                    is_self_paced: r.is_self_paced,
                    price: String::new(),
                    current_price: current_price(&r.product),
                    history: history(&r.product),
                })
                .collect(),
            new_run_id: String::new(),
            errors: FieldErrors::default(),
        }
    }

    /// Overwrites the form with what was submitted, so a rejected form shows it again.
    fn take(&mut self, fields: &HashMap<String, String>) {
        let get = |key: &str| fields.get(key).cloned().unwrap_or_default();
        if self.is_new {
            self.site = get("site");
            self.readable_id = get("readable_id").trim().to_string();
        }
        self.title = get("title");
        self.live = fields.contains_key("live");
        self.description = get("description");
        self.duration = get("duration");
        self.time_commitment = get("time_commitment");
        self.signatories = get("signatories");
        self.blocked_countries = get("blocked_countries");
        self.new_run_id = get("new_run.courseware_id").trim().to_string();
        for run in &mut self.runs {
            let key = |name: &str| format!("runs[{}].{name}", run.index);
            run.title = get(&key("title"));
            run.start_date = get(&key("start_date"));
            run.end_date = get(&key("end_date"));
            run.enrollment_start = get(&key("enrollment_start"));
            run.enrollment_end = get(&key("enrollment_end"));
            run.upgrade_deadline = get(&key("upgrade_deadline"));
            run.live = fields.contains_key(&key("live"));
            run.is_self_paced = fields.contains_key(&key("is_self_paced"));
            run.price = get(&key("price"));
        }
    }

    /// The record the form describes, on top of the stored one; field errors for what does
    /// not parse.
    fn record(&mut self, base: CourseRecord) -> Option<CourseRecord> {
        let mut record = base;
        if self.is_new {
            record.site = Site::parse(&self.site).unwrap_or_default();
            record.readable_id = self.readable_id.clone();
        }
        record.title = self.title.trim().to_string();
        record.live = self.live;
        let page = record.page.get_or_insert_with(|| PageRecord {
            live: true,
            ..PageRecord::default()
        });
        let optional = |text: &str| Some(text.trim().to_string()).filter(|t| !t.is_empty());
        page.description = optional(&self.description);
        page.duration = optional(&self.duration);
        page.time_commitment = optional(&self.time_commitment);
        set_signatories(&mut record.page, &self.signatories, &mut self.errors);
        record.blocked_countries = self
            .blocked_countries
            .split([',', ' ', '\n'])
            .map(|c| c.trim().to_uppercase())
            .filter(|c| !c.is_empty())
            .collect();
        for run in &self.runs {
            let Some(stored) = record
                .runs
                .iter_mut()
                .find(|r| r.courseware_id == run.courseware_id)
            else {
                continue;
            };
            stored.title = run.title.trim().to_string();
            for (key, _, value) in run.dates() {
                match parse_when(value) {
                    Ok(when) => match key {
                        "start_date" => stored.start_date = when,
                        "end_date" => stored.end_date = when,
                        "enrollment_start" => stored.enrollment_start = when,
                        "enrollment_end" => stored.enrollment_end = when,
                        _ => stored.upgrade_deadline = when,
                    },
                    Err(message) => self
                        .errors
                        .add(format!("runs[{}].{key}", run.index), message),
                }
            }
            stored.live = run.live;
            stored.is_self_paced = run.is_self_paced;
            match parse_price(&run.price) {
                Ok(Some(price)) => set_price(&mut stored.product, price, &run.courseware_id),
                Ok(None) => {}
                Err(message) => self
                    .errors
                    .add(format!("runs[{}].price", run.index), message),
            }
        }
        if !self.new_run_id.is_empty() {
            let tag = self
                .new_run_id
                .rsplit('+')
                .next()
                .unwrap_or_default()
                .to_string();
            record.runs.push(RunRecord {
                id: None,
                courseware_id: self.new_run_id.clone(),
                run_tag: tag,
                title: record.title.clone(),
                start_date: None,
                end_date: None,
                enrollment_start: None,
                enrollment_end: None,
                upgrade_deadline: None,
                expiration_date: None,
                certificate_available_date: None,
                is_self_paced: false,
                live: false,
                courseware_url: None,
                language: "en".to_string(),
                enrollment_modes: if record.site == Site::Mitxonline {
                    vec!["audit".into(), "verified".into()]
                } else {
                    Vec::new()
                },
                instructors: Vec::new(),
                product: None,
            });
        }
        self.errors.is_empty().then_some(record)
    }

    /// Field errors of the catalog write, keyed as this form names its fields.
    fn absorb(&mut self, errors: FieldErrors) {
        let new_index = format!("runs[{}].", self.runs.len());
        for (field, messages) in errors.fields() {
            let field = field.strip_prefix("courses[0].").unwrap_or(field);
            let field = match field.strip_prefix(&new_index) {
                Some(rest) => format!("new_run.{rest}"),
                None => field.to_string(),
            };
            for message in messages {
                self.errors.add(field.clone(), message.clone());
            }
        }
    }
}

#[derive(Template)]
#[template(path = "staff/course.html")]
struct CoursePage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    form: CourseForm,
}

fn course_page(
    state: &AppState,
    who: String,
    form: CourseForm,
    status: StatusCode,
    saved: bool,
) -> Response {
    let path = form_path("courses", form.is_new, &form.readable_id);
    let title = if form.is_new {
        "New course".to_string()
    } else {
        form.title.clone()
    };
    render(
        status,
        &CoursePage {
            meta: meta(state, &path, &title, Some(who), saved),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            form,
        },
    )
}

fn blank_course() -> CourseRecord {
    serde_json::from_value(serde_json::json!({"readable_id": "", "title": ""}))
        .expect("a minimal course record")
}

pub async fn course(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(readable_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let Some(course) = snapshot.view.course_by_readable_id(&readable_id) else {
        return Err(PageError::not_found(format!(
            "There is no course {readable_id}."
        )));
    };
    let saved = Params::parse(query.as_deref()).get("saved").is_some();
    Ok(course_page(
        &state,
        who,
        CourseForm::from_record(&snapshot.view.course_record(course), false),
        StatusCode::OK,
        saved,
    ))
}

pub async fn create_course(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    store_course(&state, who, &headers, None, fields).await
}

pub async fn save_course(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Path(readable_id): Path<String>,
    Form(fields): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    store_course(&state, who, &headers, Some(readable_id), fields).await
}

/// Creates the course (`existing` is `None`) or updates the one named `existing`.
async fn store_course(
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
    let base = match &existing {
        None => blank_course(),
        Some(readable_id) => match snapshot.view.course_by_readable_id(readable_id) {
            Some(course) => snapshot.view.course_record(course),
            None => {
                return Err(PageError::not_found(format!(
                    "There is no course {readable_id}."
                )));
            }
        },
    };
    if is_new
        && snapshot
            .view
            .course_by_readable_id(fields.get("readable_id").map(|s| s.trim()).unwrap_or(""))
            .is_some()
    {
        let mut form = CourseForm::from_record(&base, true);
        form.take(&fields);
        form.errors.add(
            "readable_id",
            "a course with this readable id already exists",
        );
        return Ok(course_page(
            state,
            who,
            form,
            StatusCode::BAD_REQUEST,
            false,
        ));
    }
    let mut form = CourseForm::from_record(&base, is_new);
    form.take(&fields);
    let Some(record) = form.record(base) else {
        return Ok(course_page(
            state,
            who,
            form,
            StatusCode::BAD_REQUEST,
            false,
        ));
    };
    let target = record.readable_id.clone();
    let catalog = Catalog {
        courses: vec![record],
        ..Catalog::default()
    };
    let errors = match save(state, &who, "courses", &target, catalog).await? {
        Ok(redirect) => return Ok(redirect),
        Err(errors) => errors,
    };
    form.absorb(errors);
    Ok(course_page(
        state,
        who,
        form,
        StatusCode::BAD_REQUEST,
        false,
    ))
}

/// The run a "sync now" form names (`?run=<courseware id>`), with its course's readable id.
fn run_named(
    view: &store::catalog::read::CatalogView,
    query: Option<&str>,
) -> Option<(i64, String)> {
    let params = crate::request::Params::parse(query);
    let courseware_id = params.get("run")?;
    view.courses
        .iter()
        .flat_map(|c| c.runs.iter().map(move |r| (c, r)))
        .find(|(_, r)| r.courseware_id == courseware_id)
        .map(|(c, r)| (r.id, c.readable_id.clone()))
}

/// Queues a job for one run ("sync now"), then back to its course page.
async fn sync_now<F, Fut>(
    state: &AppState,
    who: &str,
    query: Option<&str>,
    what: &str,
    enqueue: F,
) -> Result<Response, PageError>
where
    F: FnOnce(i64) -> Fut,
    Fut: std::future::Future<Output = Result<(), sea_orm::DbErr>>,
{
    let snapshot = state.catalog.get().await?;
    let Some((run_id, course)) = run_named(&snapshot.view, query) else {
        return Err(PageError::not_found("There is no such run."));
    };
    enqueue(run_id).await?;
    tracing::info!(staff = %who, run = run_id, what, "sync queued");
    let path: String = form_urlencoded::byte_serialize(course.as_bytes()).collect();
    Ok(Redirect::to(&format!("/staff/courses/{path}?{what}=queued")).into_response())
}

/// Pulls a run's grades now.
pub async fn sync_grades(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let store = &state.store;
    sync_now(&state, &who, query.as_deref(), "grades", |run_id| {
        services::certificates::sync_grades_now(store, run_id)
    })
    .await
}

/// Pulls a run's title and dates from Open edX now.
pub async fn sync_run(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let store = &state.store;
    sync_now(&state, &who, query.as_deref(), "run", |run_id| {
        services::catalog_sync::sync_run_now(store, run_id)
    })
    .await
}
