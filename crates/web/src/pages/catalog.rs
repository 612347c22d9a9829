//! The learner catalog: courses and programs of both storefronts with search, filters,
//! sorting and pagination, computed from the cached catalog view.

use std::collections::BTreeSet;

use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::Money;
use domain::catalog::Site;
use domain::catalog::predicates::{
    RunChoice, mitxonline_first_unexpired_run, xpro_first_unexpired_run,
};
use store::catalog::read::{CatalogView, CourseView, ProgramView, RunView};

use super::{Meta, assets, render, text};
use crate::AppState;
use crate::error::PageError;
use crate::request::Params;

const PAGE_SIZE: usize = 12;

pub fn site_label(site: Site) -> (&'static str, &'static str) {
    (site.display_name(), site.as_str())
}

/// The run a learner would take next, as the course's storefront chooses it.
pub fn next_run(course: &CourseView, now: DateTime<Utc>) -> Option<&RunView> {
    match course.site {
        Site::Mitxonline => {
            let choices: Vec<RunChoice<'_, usize>> = course
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| RunChoice {
                    key: i,
                    window: &r.window,
                    language: &r.language,
                    is_primary_language: true,
                })
                .collect();
            mitxonline_first_unexpired_run(&choices, now).map(|i| &course.runs[i])
        }
        Site::Xpro => {
            let runs: Vec<(usize, &domain::catalog::RunWindow)> = course
                .runs
                .iter()
                .enumerate()
                .map(|(i, r)| (i, &r.window))
                .collect();
            xpro_first_unexpired_run(&runs, now).map(|i| &course.runs[i])
        }
    }
}

/// Whether a run takes enrollments now, by its storefront's rule.
pub fn run_open(site: Site, run: &RunView, now: DateTime<Utc>) -> bool {
    domain::catalog::predicates::open_for_enrollment(site, &run.window, now)
}

/// One catalog entry with what the filters and sorts read.
struct Entry<'v> {
    title: &'v str,
    url: String,
    site: Site,
    is_program: bool,
    platform: Option<&'v str>,
    topics: Vec<&'v str>,
    departments: Vec<&'v str>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    enrollable: bool,
    price: Option<Money>,
    pacing: String,
}

fn course_entry<'v>(course: &'v CourseView, now: DateTime<Utc>) -> Entry<'v> {
    let next = next_run(course, now);
    Entry {
        title: &course.title,
        url: format!("/courses/{}/", course.readable_id),
        site: course.site,
        is_program: false,
        platform: course.platform.as_deref(),
        topics: course.topics.iter().map(String::as_str).collect(),
        departments: course.departments.iter().map(String::as_str).collect(),
        start: next.and_then(|r| r.window.start),
        end: next.and_then(|r| r.window.end),
        enrollable: course.runs.iter().any(|r| run_open(course.site, r, now)),
        price: next
            .and_then(|r| r.product.as_ref())
            .filter(|p| p.is_active)
            .and_then(|p| p.price()),
        pacing: match next {
            Some(run) if run.is_self_paced => "Self-paced".to_string(),
            Some(_) => "Instructor-led".to_string(),
            None => "No upcoming run".to_string(),
        },
    }
}

fn program_entry<'v>(
    view: &'v CatalogView,
    program: &'v ProgramView,
    now: DateTime<Utc>,
) -> Entry<'v> {
    let courses: Vec<&CourseView> = program
        .course_leaves()
        .iter()
        .filter_map(|(id, _)| view.course(*id))
        .filter(|c| c.live)
        .collect();
    let mut topics = BTreeSet::new();
    for course in &courses {
        topics.extend(course.topics.iter().map(String::as_str));
    }
    let next_runs: Vec<&RunView> = courses.iter().filter_map(|c| next_run(c, now)).collect();
    Entry {
        title: &program.title,
        url: format!("/programs/{}/", program.readable_id),
        site: program.site,
        is_program: true,
        platform: program.platform.as_deref(),
        topics: topics.into_iter().collect(),
        departments: program.departments.iter().map(String::as_str).collect(),
        start: next_runs
            .iter()
            .filter_map(|r| r.window.start)
            .min()
            .or(program.start_date),
        end: next_runs
            .iter()
            .filter_map(|r| r.window.end)
            .max()
            .or(program.end_date),
        enrollable: courses
            .iter()
            .any(|c| c.runs.iter().any(|r| run_open(c.site, r, now))),
        price: program
            .product
            .as_ref()
            .filter(|p| p.is_active)
            .and_then(|p| p.price()),
        pacing: format!(
            "{} course{}",
            courses.len(),
            if courses.len() == 1 { "" } else { "s" }
        ),
    }
}

/// The submitted filter form, echoed back into the page so nothing typed is lost.
#[derive(Default)]
pub struct Form {
    pub q: String,
    pub kind: String,
    pub topic: String,
    pub department: String,
    pub platform: String,
    pub when: String,
    pub price_min: String,
    pub price_max: String,
    pub sort: String,
}

pub struct Card {
    pub url: String,
    pub title: String,
    pub site_label: &'static str,
    pub site_class: &'static str,
    pub kind_label: &'static str,
    pub dates: String,
    pub pacing: String,
    pub price: String,
}

#[derive(Template)]
#[template(path = "catalog.html")]
struct CatalogPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    heading: &'static str,
    form: Form,
    kinds: Vec<(&'static str, &'static str)>,
    topics: Vec<String>,
    departments: Vec<String>,
    platforms: Vec<(&'static str, &'static str)>,
    whens: Vec<(&'static str, &'static str)>,
    sorts: Vec<(&'static str, &'static str)>,
    price_error: Option<String>,
    cards: Vec<Card>,
    total: usize,
    page: usize,
    pages: usize,
    previous: Option<String>,
    next: Option<String>,
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

fn dates(entry: &Entry<'_>) -> String {
    match (entry.start, entry.end) {
        (Some(start), Some(end)) => format!("{} – {}", text::date(start), text::date(end)),
        (Some(start), None) => format!("Starts {}", text::date(start)),
        _ => "Dates to be announced".to_string(),
    }
}

pub async fn page(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let value = |key: &str| params.get(key).unwrap_or("").trim().to_string();
    let form = Form {
        q: value("q"),
        kind: value("kind"),
        topic: value("topic"),
        department: value("department"),
        platform: value("platform"),
        when: value("when"),
        price_min: value("price_min"),
        price_max: value("price_max"),
        sort: value("sort"),
    };
    let view = state.catalog.get().await?.view.clone();
    let now = state.now();
    let (min, max) = (parse_price(&form.price_min), parse_price(&form.price_max));
    let price_error = match (&min, &max) {
        (Err(e), _) | (_, Err(e)) => Some(format!("Price {e}")),
        (Ok(Some(a)), Ok(Some(b))) if a > b => {
            Some("The lowest price is above the highest.".to_string())
        }
        _ => None,
    };
    let (min, max) = (min.unwrap_or(None), max.unwrap_or(None));
    let needle = form.q.to_lowercase();
    let mut entries: Vec<Entry<'_>> = Vec::new();
    if form.kind != "program" {
        entries.extend(
            view.courses
                .iter()
                .filter(|c| c.live && !c.placeholder && c.page.as_ref().is_none_or(|p| p.live))
                .map(|c| course_entry(c, now)),
        );
    }
    if form.kind != "course" {
        entries.extend(
            view.programs
                .iter()
                .filter(|p| p.live && !p.b2b_only)
                .map(|p| program_entry(&view, p, now)),
        );
    }
    let mut topics = BTreeSet::new();
    let mut departments = BTreeSet::new();
    for entry in &entries {
        topics.extend(entry.topics.iter().map(|t| t.to_string()));
        departments.extend(entry.departments.iter().map(|d| d.to_string()));
    }
    entries.retain(|e| {
        (needle.is_empty()
            || e.title.to_lowercase().contains(&needle)
            || e.topics.iter().any(|t| t.to_lowercase().contains(&needle)))
            && (form.topic.is_empty() || e.topics.contains(&form.topic.as_str()))
            && (form.department.is_empty() || e.departments.contains(&form.department.as_str()))
            && match form.platform.as_str() {
                "" => true,
                "mitxonline" => e.site == Site::Mitxonline,
                "xpro" => e.site == Site::Xpro,
                other => e.platform == Some(other),
            }
            && match form.when.as_str() {
                "enrollable" => e.enrollable,
                "upcoming" => e.start.is_some_and(|s| s > now),
                _ => true,
            }
            && min.is_none_or(|m| e.price.is_some_and(|p| p >= m))
            && max.is_none_or(|m| e.price.is_some_and(|p| p <= m))
    });
    match form.sort.as_str() {
        "start" => entries.sort_by(|a, b| {
            (a.start.is_none(), a.start, a.title).cmp(&(b.start.is_none(), b.start, b.title))
        }),
        "price_asc" => entries.sort_by(|a, b| {
            (a.price.is_none(), a.price, a.title).cmp(&(b.price.is_none(), b.price, b.title))
        }),
        "price_desc" => entries.sort_by(|a, b| {
            (a.price.is_none(), std::cmp::Reverse(a.price), a.title).cmp(&(
                b.price.is_none(),
                std::cmp::Reverse(b.price),
                b.title,
            ))
        }),
        _ => entries.sort_by(|a, b| a.title.cmp(b.title)),
    }
    let total = entries.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = params
        .get("page")
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(1)
        .clamp(1, pages);
    let link = |n: usize| format!("/catalog/?{}", params.with("page", Some(n.to_string())));
    let cards = entries
        .iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|e| {
            let (site_label, site_class) = site_label(e.site);
            Card {
                url: e.url.clone(),
                title: e.title.to_string(),
                site_label,
                site_class,
                kind_label: if e.is_program { "Program" } else { "Course" },
                dates: dates(e),
                pacing: e.pacing.clone(),
                price: text::price(e.price),
            }
        })
        .collect();
    let heading = if form.kind == "program" {
        "Programs"
    } else {
        "Catalog"
    };
    let status = if price_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &CatalogPage {
            meta: Meta::new(
                &state,
                "/catalog/",
                heading,
                "Courses and programs from MITx Online and MIT xPRO: dates, prices and pacing.",
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            heading,
            form,
            kinds: vec![
                ("", "Courses and programs"),
                ("course", "Courses"),
                ("program", "Programs"),
            ],
            topics: topics.into_iter().collect(),
            departments: departments.into_iter().collect(),
            platforms: vec![("mitxonline", "MITx Online"), ("xpro", "MIT xPRO")],
            whens: vec![
                ("", "Any time"),
                ("enrollable", "Enrolling now"),
                ("upcoming", "Starting soon"),
            ],
            sorts: vec![
                ("", "Title"),
                ("start", "Start date"),
                ("price_asc", "Price, low to high"),
                ("price_desc", "Price, high to low"),
            ],
            price_error,
            cards,
            total,
            page,
            pages,
            previous: (page > 1).then(|| link(page - 1)),
            next: (page < pages).then(|| link(page + 1)),
        },
    ))
}
