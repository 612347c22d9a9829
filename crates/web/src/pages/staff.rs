//! The staff area (`/staff`): sign-in with a staff token (until accounts exist), catalog
//! editing (courses, runs, prices, programs and their requirement trees) and the jobs and
//! data-flows page. Every edit goes through the same catalog write as the staff API, so the
//! same checks apply; a rejected form comes back with its values and a message per field.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDateTime, Utc};
use domain::Money;
use domain::catalog::validate::FieldErrors;
use domain::catalog::{
    Catalog, CourseRecord, PageRecord, PriceVersion, ProductRecord, ProgramRecord, RunRecord,
    Signatory, Site, tree_text,
};
use domain::compliance::ComputedResult;
use store::catalog::write::ApplyError;

use super::{Flash, Meta, assets, error_page, render, text};
use crate::AppState;
use crate::api::Params;
use crate::error::PageError;

const COOKIE: &str = "registrar_staff";

/// A signed-in staff member (their email): by a staff session, or a learner account marked
/// staff (`registrar admin grant-staff`); anyone else is sent to the sign-in page. Every
/// staff change (any method but GET and HEAD) must also come from this site's own pages
/// (its `Origin`, when the browser sends one, names this host), on top of the CSRF token.
pub struct StaffMember(pub String);

impl axum::extract::FromRequestParts<AppState> for StaffMember {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let changes = !matches!(
            parts.method,
            axum::http::Method::GET | axum::http::Method::HEAD
        );
        if changes && !same_origin(&parts.headers) {
            tracing::warn!(path = %parts.uri.path(), "a staff change from another site was refused");
            return Err(error_page(
                state,
                StatusCode::FORBIDDEN,
                Some("Staff changes are made from the staff pages of this site only.".into()),
            ));
        }
        match staff(state, &parts.headers).await {
            Ok(Some(email)) => Ok(StaffMember(email)),
            Ok(None) => Err(Redirect::to("/staff/").into_response()),
            Err(error) => Err(error.into_response()),
        }
    }
}

/// The staff member the request comes from, if it comes from one.
async fn staff(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, PageError> {
    if let Some(session) = crate::csrf::cookie_value(headers, COOKIE)
        && let Some(email) =
            store::staff::session_email(state.store.db(), &session, state.now()).await?
    {
        return Ok(Some(email));
    }
    let user = crate::pages::account::current_user(state, headers).await;
    Ok(user.filter(|u| u.is_staff).map(|u| u.email))
}

/// Cross-site form posts are refused: the cookie is SameSite=Strict, and a browser's
/// `Origin` must name this host.
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin.split_once("://").map(|(_, rest)| rest) == Some(host)
}

pub(super) fn meta(
    state: &AppState,
    path: &str,
    title: &str,
    who: Option<String>,
    saved: bool,
) -> Meta {
    let mut meta = Meta::new(state, path, title, "Registrar staff area");
    meta.signed_in = who;
    if saved {
        meta.flash = Some(Flash {
            kind: "ok",
            message: "Saved.".to_string(),
        });
    }
    meta
}

#[derive(Template)]
#[template(path = "staff/signin.html")]
struct SignIn {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/home.html")]
struct Home {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    courses: usize,
    runs: usize,
    programs: usize,
    dead: i64,
    /// Orders and bulk purchases flagged for a person.
    attention: i64,
}

pub async fn home(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(who) = staff(&state, &headers).await? else {
        return Ok(render(
            StatusCode::OK,
            &SignIn {
                meta: meta(&state, "/staff/", "Staff sign-in", None, false),
                asset_css: assets::CSS,
                asset_htmx: assets::HTMX,
                error: None,
            },
        ));
    };
    let snapshot = state.catalog.get().await?;
    let dead = match jobs::admin::list(state.store.db(), Some("dead"), None, 10_000).await {
        Ok(jobs) => jobs.len() as i64,
        Err(error) => {
            tracing::error!(%error, "counting dead jobs failed");
            0
        }
    };
    let attention = match store::commerce::orders::flagged_count(state.store.db()).await {
        Ok(n) => n,
        Err(error) => {
            tracing::error!(%error, "counting flagged orders failed");
            0
        }
    };
    let view = &snapshot.view;
    Ok(render(
        StatusCode::OK,
        &Home {
            attention,
            meta: meta(&state, "/staff/", "Staff", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            courses: view.courses.iter().filter(|c| !c.placeholder).count(),
            runs: view.courses.iter().map(|c| c.runs.len()).sum(),
            programs: view.programs.len(),
            dead,
        },
    ))
}

pub async fn sign_in(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Refused(StatusCode::FORBIDDEN, None));
    }
    let token = form
        .get("token")
        .map(|t| t.trim().to_string())
        .unwrap_or_default();
    let signed_in = services::accounts::staff_sign_in(&state.store, &token, state.now()).await?;
    let Some((email, session)) = signed_in else {
        return Ok(render(
            StatusCode::BAD_REQUEST,
            &SignIn {
                meta: meta(&state, "/staff/", "Staff sign-in", None, false),
                asset_css: assets::CSS,
                asset_htmx: assets::HTMX,
                error: Some("That token is not a staff token.".to_string()),
            },
        ));
    };
    tracing::info!(staff = %email, "staff signed in");
    let secure = if state.settings.base_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    // A session of its own that expires, never the long-lived token itself.
    Ok((
        [(
            header::SET_COOKIE,
            format!(
                "{COOKIE}={session}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}{secure}",
                services::accounts::STAFF_SESSION.num_seconds()
            ),
        )],
        Redirect::to("/staff/"),
    )
        .into_response())
}

/// Ends the staff token session and, for staff signed in with their account, that
/// session too, so signing out of the staff area leaves nobody signed in.
pub async fn sign_out(state: State<AppState>, headers: HeaderMap) -> Response {
    if !same_origin(&headers) {
        return error_page(&state, StatusCode::FORBIDDEN, None);
    }
    if let Some(session) = crate::csrf::cookie_value(&headers, COOKIE)
        && let Err(error) =
            services::accounts::staff_sign_out(&state.store, &session, state.now()).await
    {
        tracing::error!(%error, "ending a staff session failed");
    }
    let mut response = crate::pages::account::signout(state, headers).await;
    response.headers_mut().append(
        header::SET_COOKIE,
        header::HeaderValue::from_str(&format!(
            "{COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
        ))
        .expect("a valid cookie header"),
    );
    response.headers_mut().insert(
        header::LOCATION,
        header::HeaderValue::from_static("/staff/"),
    );
    response
}

pub struct Row {
    pub title: String,
    pub readable_id: String,
    pub site: &'static str,
    pub runs: usize,
    pub live: bool,
}

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

fn parse_price(text: &str) -> Result<Option<Money>, String> {
    let text = text.trim().trim_start_matches('$');
    if text.is_empty() {
        return Ok(None);
    }
    Money::parse(text)
        .map(Some)
        .map_err(|e| format!("\"{text}\" {e}"))
}

fn history(product: &Option<ProductRecord>) -> Vec<String> {
    product
        .iter()
        .flat_map(|p| &p.prices)
        .map(|v| match v.created_on {
            Some(at) => format!("{} from {}", text::price(Some(v.price)), text::date(at)),
            None => text::price(Some(v.price)),
        })
        .collect()
}

fn current_price(product: &Option<ProductRecord>) -> String {
    text::price(
        product
            .as_ref()
            .and_then(|p| p.prices.last())
            .map(|v| v.price),
    )
}

/// Adds a price as the product's new current version (creating the product if needed),
/// unless it already is the current price.
fn set_price(product: &mut Option<ProductRecord>, price: Money, description: &str) {
    match product {
        Some(p) if p.prices.last().map(|v| v.price) == Some(price) => {}
        Some(p) => p.prices.push(PriceVersion {
            price,
            created_on: None,
        }),
        None => *product = Some(ProductRecord::priced(price, description)),
    }
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

/// `?new` on a collection page shows the empty creation form.
fn asks_for_new(query: Option<String>) -> bool {
    Params::parse(query.as_deref()).get("new").is_some()
}

/// New records are created by posting to the collection, so a readable id such as `new`
/// never collides with the creation form.
fn form_path(collection: &str, is_new: bool, readable_id: &str) -> String {
    if is_new {
        format!("/staff/{collection}/?new")
    } else {
        format!("/staff/{collection}/{readable_id}")
    }
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

fn blank_program() -> ProgramRecord {
    serde_json::from_value(serde_json::json!({"readable_id": "", "title": ""}))
        .expect("a minimal program record")
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

/// Saves the record named `target` in `collection` ("courses" or "programs") and answers
/// with a redirect to its edit page, or (`Ok(Err(…))`) hands back what the catalog rules
/// rejected so the caller can show it on the form.
async fn save(
    state: &AppState,
    who: &str,
    collection: &str,
    target: &str,
    catalog: Catalog,
) -> Result<Result<Response, FieldErrors>, PageError> {
    match crate::api::staff::save_catalog(state, &catalog).await {
        Ok(_) => {
            tracing::info!(staff = %who, collection, record = %target, "saved from the staff area");
            Ok(Ok(Redirect::to(&format!(
                "/staff/{collection}/{target}?saved=1"
            ))
            .into_response()))
        }
        Err(ApplyError::Invalid(errors)) => Ok(Err(errors)),
        Err(ApplyError::Db(error)) => Err(error.into()),
    }
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

/// The signatories a form lists, onto the page (made if there is none and some are given).
fn set_signatories(page: &mut Option<PageRecord>, text: &str, errors: &mut FieldErrors) {
    match Signatory::parse_lines(text) {
        Ok(signatories) if page.is_some() || !signatories.is_empty() => {
            page.get_or_insert_with(|| PageRecord {
                live: true,
                ..PageRecord::default()
            })
            .signatories = signatories;
        }
        Ok(_) => {}
        Err(message) => errors.add("signatories", message),
    }
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

pub struct FlowRow {
    pub id: &'static str,
    pub label: &'static str,
    pub route: String,
    pub enabled: &'static str,
    pub schedules: String,
    pub queue: i64,
    pub dead: i64,
    pub last_success: String,
    pub last_error: String,
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: String,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "staff/jobs.html")]
struct JobsPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    flows: Vec<FlowRow>,
    jobs: Vec<JobRow>,
}

pub async fn jobs_page(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let mut flows = Vec::new();
    for flow in services::flows::all() {
        let (mut queue, mut dead, mut last_success, mut last_error) = (0, 0, None, None);
        for kind in flow.job_kinds {
            let stats = jobs::admin::kind_stats(db, kind).await?;
            queue += stats.queue_depth;
            dead += stats.dead;
            last_success = last_success.max(stats.last_success);
            last_error = last_error.or(stats.last_error);
        }
        let schedules = state
            .settings
            .schedules
            .iter()
            .filter(|d| flow.schedules.contains(&d.schedule.name))
            .map(|d| format!("{}: {}", d.schedule.name, d.schedule.cadence.describe()))
            .collect::<Vec<_>>()
            .join(", ");
        flows.push(FlowRow {
            id: flow.id,
            label: flow.label,
            route: format!("{} → {}", flow.source.name, flow.target.name),
            enabled: if services::flows::enabled(&flow, &state.settings.schedules) {
                "yes"
            } else {
                "no"
            },
            schedules,
            queue,
            dead,
            last_success: last_success.map(text::date).unwrap_or_default(),
            last_error: last_error.unwrap_or_default(),
        });
    }
    let recent = jobs::admin::list(db, None, None, 50).await?;
    let jobs = recent
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &JobsPage {
            meta: meta(
                &state,
                "/staff/jobs/",
                "Jobs and data flows",
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            flows,
            jobs,
        },
    ))
}

pub async fn job_action(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Refused(StatusCode::FORBIDDEN, None));
    }
    let changed = match action.as_str() {
        "retry" => jobs::admin::retry(state.store.db(), id, state.now()).await?,
        "cancel" => jobs::admin::cancel(state.store.db(), id, state.now()).await?,
        _ => return Err(PageError::Refused(StatusCode::NOT_FOUND, None)),
    };
    if !changed {
        return Err(PageError::conflict(format!(
            "Job {id} cannot be {action}ed in its current state."
        )));
    }
    tracing::info!(staff = %who, job = id, %action, "job changed from the staff area");
    Ok(Redirect::to("/staff/jobs/").into_response())
}

pub struct UserRow {
    pub id: i64,
    pub email: String,
    pub username: String,
    pub verified: &'static str,
    pub edx: String,
    pub joined: String,
}

#[derive(Template)]
#[template(path = "staff/users.html")]
struct UsersPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    users: Vec<UserRow>,
}

fn edx_state(account: Option<store::openedx::EdxAccount>) -> String {
    match account {
        Some(a) if a.has_been_synced => {
            format!("in Open edX as {}", a.edx_username.unwrap_or_default())
        }
        Some(a) => format!("not in Open edX: {}", a.sync_error.unwrap_or_default()),
        None => "not in Open edX yet".to_string(),
    }
}

pub async fn users(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let list = store::accounts::list(db, 500).await?;
    let mut users = Vec::with_capacity(list.len());
    for user in list {
        let account = store::openedx::account(db, user.id).await?;
        users.push(UserRow {
            id: user.id,
            email: user.email,
            username: user.username,
            verified: if user.email_verified { "yes" } else { "no" },
            edx: edx_state(account),
            joined: text::date(user.created_on),
        });
    }
    Ok(render(
        StatusCode::OK,
        &UsersPage {
            meta: meta(&state, "/staff/users/", "Users", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            users,
        },
    ))
}

#[derive(Template)]
#[template(path = "staff/user.html")]
struct UserPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    user: store::accounts::User,
    verified: &'static str,
    compliance: &'static str,
    screenings: Vec<String>,
    approvable: bool,
    edx: String,
    enrollments: Vec<String>,
    /// Runs the learner is enrolled in now, which a deferral can move from.
    active_runs: Vec<String>,
    certificates: Vec<crate::pages::certificates::Shown>,
}

pub async fn user(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let Some(user) = store::accounts::find(db, id).await? else {
        return Err(PageError::not_found(format!("There is no user {id}.")));
    };
    let account = store::openedx::account(db, id).await?;
    let rows = store::enrollments::of_user(db, id).await?;
    let inquiries = store::compliance::of_user(db, id).await?;
    let snapshot = state.catalog.get().await?;
    let enrollments = rows
        .iter()
        .map(|e| {
            let run = snapshot
                .view
                .run(e.run_id)
                .map(|(_, r)| r.courseware_id.clone())
                .unwrap_or_default();
            let edx = if e.edx_enrolled {
                "in Open edX".to_string()
            } else {
                format!(
                    "not in Open edX{}",
                    e.edx_error
                        .as_ref()
                        .map(|m| format!(": {m}"))
                        .unwrap_or_default()
                )
            };
            let status = if e.active {
                "enrolled".to_string()
            } else {
                e.change_status.clone().unwrap_or_default()
            };
            format!("{run} · {} · {status} · {edx}", e.mode)
        })
        .collect();
    let active_runs = rows
        .iter()
        .filter(|e| e.active)
        .filter_map(|e| {
            snapshot
                .view
                .run(e.run_id)
                .map(|(_, r)| r.courseware_id.clone())
        })
        .collect();
    let latest = inquiries.first().map(|i| i.computed_result);
    let compliance = match (user.is_active, latest) {
        (true, _) => "active",
        (false, Some(ComputedResult::Denied)) => "inactive: the screening denied this account",
        (false, Some(_)) => "inactive: the screening could not decide; review it",
        (false, None) => "inactive: awaiting the export-compliance screening",
    };
    let screenings = inquiries
        .iter()
        .map(|i| {
            format!(
                "{} · {} · reason {} · info code {}",
                text::date(i.created_on),
                i.computed_result,
                i.reason_code.map(|c| c.to_string()).unwrap_or_default(),
                i.info_code.as_deref().unwrap_or("none")
            )
        })
        .collect();
    let certificates = store::certificates::of_user(db, id)
        .await
        .unwrap_or_default()
        .iter()
        .filter_map(|c| crate::pages::certificates::shown(&snapshot.view, c, user.name.clone()))
        .collect();
    let params = Params::parse(query.as_deref());
    let flash = if params.get("resynced").is_some() {
        Some("Re-sync queued.")
    } else if params.get("certificate").is_some() {
        Some("Certificate updated.")
    } else if params.get("deferred").is_some() {
        Some("Enrollment moved; Open edX is being told.")
    } else if params.get("approved").is_some() {
        Some("Approved manually; the account is active.")
    } else {
        None
    };
    let mut page_meta = meta(
        &state,
        &format!("/staff/users/{id}"),
        &user.email,
        Some(who),
        false,
    );
    page_meta.flash = flash.map(|message| Flash {
        kind: "ok",
        message: message.to_string(),
    });
    Ok(render(
        StatusCode::OK,
        &UserPage {
            meta: page_meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            verified: if user.email_verified {
                "email verified"
            } else {
                "email not verified"
            },
            approvable: !user.is_active && latest.is_some_and(|r| !r.clears()),
            compliance,
            screenings,
            edx: edx_state(account),
            enrollments,
            active_runs,
            certificates,
            user,
        },
    ))
}

/// Revokes a learner's certificate with a reason, or (`restore`) makes it valid again.
pub async fn certificate_action(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path((id, uuid, action)): Path<(i64, String, String)>,
    axum::Form(values): axum::Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let found = match store::certificates::by_any_uuid(db, &uuid).await? {
        Some(c) if c.user_id == id => c,
        _ => {
            return Err(PageError::not_found(
                "This learner has no such certificate.",
            ));
        }
    };
    let reason = values.get("reason").map(|r| r.trim()).unwrap_or_default();
    let change = match action.as_str() {
        "revoke" if reason.is_empty() => {
            return Err(PageError::bad_request("A revocation needs a reason."));
        }
        "revoke" => Some(reason),
        "restore" => None,
        _ => return Err(PageError::Refused(StatusCode::NOT_FOUND, None)),
    };
    services::certificates::set_revoked(&state.store, id, found.of, change).await?;
    tracing::info!(staff = %who, user = id, certificate = %uuid, %action, reason, "certificate changed");
    Ok(Redirect::to(&format!("/staff/users/{id}?certificate=1")).into_response())
}

/// Clears a learner the export screening denied or could not judge.
pub async fn approve(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let result = async {
        let Some(user) = store::accounts::find(state.store.db(), id).await? else {
            return Ok(None);
        };
        services::compliance::approve_manually(
            &state.store,
            user,
            state.settings.onboarding.provision_openedx,
            state.now(),
        )
        .await?;
        Ok::<_, services::compliance::ApprovalError>(Some(()))
    }
    .await;
    match result {
        Ok(Some(())) => {
            tracing::info!(staff = %who, user = id, "export compliance approved manually");
            Ok(Redirect::to(&format!("/staff/users/{id}?approved=1")).into_response())
        }
        Ok(None) => Err(PageError::not_found(format!("There is no user {id}."))),
        Err(services::compliance::ApprovalError::Db(error)) => Err(error.into()),
        Err(refused) => Err(PageError::conflict(refused.to_string())),
    }
}

/// Queues the user's edX account and every active enrollment edX lacks; the jobs'
/// unique keys make repeated clicks harmless.
pub async fn resync(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    services::openedx::resync(&state.store, id).await?;
    tracing::info!(staff = %who, user = id, "edX re-sync queued");
    Ok(Redirect::to(&format!("/staff/users/{id}?resynced=1")).into_response())
}

/// The run a "sync now" form names (`?run=<courseware id>`), with its course's readable id.
fn run_named(
    view: &store::catalog::read::CatalogView,
    query: Option<&str>,
) -> Option<(i64, String)> {
    let params = crate::api::Params::parse(query);
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

#[derive(serde::Deserialize)]
pub struct DeferForm {
    from: String,
    to: String,
    #[serde(default)]
    force: Option<String>,
}

/// Moves a learner's enrollment to another run (the staff side of deferral requests).
pub async fn defer(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    Form(form): Form<DeferForm>,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let moved = services::enrollments::defer(
        &state.store,
        &snapshot.view,
        &state.settings.base_url,
        id,
        &form.from,
        &form.to,
        form.force.is_some(),
        state.now(),
    )
    .await;
    match moved {
        Ok(_) => {
            tracing::info!(staff = %who, user = id, from = %form.from, to = %form.to, "enrollment deferred");
            Ok(Redirect::to(&format!("/staff/users/{id}?deferred=1")).into_response())
        }
        Err(services::enrollments::DeferError::Db(error)) => Err(error.into()),
        Err(refused) => Err(PageError::bad_request(format!(
            "The enrollment was not moved: {refused}."
        ))),
    }
}
