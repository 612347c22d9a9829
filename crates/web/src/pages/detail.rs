//! Course and program pages, at the paths the catalog APIs give as page URLs.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use domain::catalog::Site;
use store::catalog::read::{CatalogView, CourseView, Node, NodeKind, RunView};

use super::catalog::{next_run, run_open, site_label};
use super::{Meta, assets, render, text};
use crate::AppState;
use crate::error::PageError;

pub struct RunLine {
    pub title: String,
    pub tag: String,
    pub dates: String,
    pub enrollment: String,
    pub status: &'static str,
    pub price: Option<String>,
}

#[derive(Template)]
#[template(path = "course.html")]
struct CoursePage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    title: String,
    site_label: &'static str,
    site_class: &'static str,
    platform: Option<String>,
    price: String,
    pacing: String,
    free_run: Option<i64>,
    /// The product of the paid track on sale now, and what the button says.
    buy: Option<(i64, String)>,
    /// An external (vendor) course: where the learner enrolls instead.
    external: Option<String>,
    enroll_reason: String,
    topics: Vec<String>,
    programs: Vec<(String, String)>,
    description: Vec<String>,
    facts: Vec<String>,
    instructors: Vec<String>,
    runs: Vec<RunLine>,
}

fn span(start: Option<DateTime<Utc>>, end: Option<DateTime<Utc>>, open_ended: &str) -> String {
    match (start, end) {
        (Some(s), Some(e)) => format!("{} – {}", text::date(s), text::date(e)),
        (Some(s), None) => format!("From {} ({open_ended})", text::date(s)),
        (None, Some(e)) => format!("Until {}", text::date(e)),
        (None, None) => "Dates to be announced".to_string(),
    }
}

/// Where enrollment stands, in the learner's terms (next to the enroll or buy button).
fn enroll_reason(site: Site, runs: &[RunView], now: DateTime<Utc>) -> String {
    if runs.iter().any(|r| run_open(site, r, now)) {
        return "Enrollment is open.".to_string();
    }
    let opening = runs
        .iter()
        .filter(|r| r.window.live)
        .filter_map(|r| r.window.enrollment_start.filter(|s| *s > now))
        .min();
    match opening {
        Some(date) => format!("Enrollment opens on {}.", text::date(date)),
        None => "Enrollment closed.".to_string(),
    }
}

fn run_status(site: Site, run: &RunView, now: DateTime<Utc>) -> &'static str {
    let w = &run.window;
    if !w.live {
        "Not published"
    } else if run_open(site, run, now) {
        "Enrolling now"
    } else if w.enrollment_start.is_some_and(|s| s > now) {
        "Enrollment not yet open"
    } else if w.is_past(now) {
        "Ended"
    } else {
        "Enrollment closed"
    }
}

fn course_facts(course: &CourseView) -> Vec<String> {
    let Some(page) = &course.page else {
        return Vec::new();
    };
    let mut facts = Vec::new();
    if let Some(d) = &page.duration {
        facts.push(d.clone());
    }
    if let Some(t) = &page.time_commitment {
        facts.push(t.clone());
    }
    if let Some(c) = page.credits_centi {
        facts.push(format!("{:.2} CEUs", c as f64 / 100.0));
    }
    if let Some(f) = &page.format {
        facts.push(f.clone());
    }
    facts
}

/// The earliest-starting run whose paid track is on sale now: its product and price.
fn buyable_run(
    view: &CatalogView,
    course: &CourseView,
    now: DateTime<Utc>,
) -> Option<(i64, domain::Money)> {
    let mut runs: Vec<&RunView> = course.runs.iter().collect();
    runs.sort_by_key(|r| r.window.start);
    runs.into_iter().find_map(|run| {
        let product = run.product.as_ref()?;
        let item = services::commerce::item(view, product.id)?;
        services::commerce::basket::sale_blocker(view, &item, now)
            .is_none()
            .then_some((product.id, item.list))
    })
}

pub async fn course(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    Path(readable_id): Path<String>,
) -> Result<Response, PageError> {
    let view = state.catalog.get().await?.view.clone();
    let now = state.now();
    let Some(course) = view
        .course_by_readable_id(&readable_id)
        .filter(|c| c.live && !c.placeholder)
    else {
        return Err(PageError::not_found(format!(
            "There is no course {readable_id}."
        )));
    };
    let (site_label, site_class) = site_label(course.site);
    let next = next_run(course, now);
    let mut runs: Vec<&RunView> = course.runs.iter().filter(|r| r.window.live).collect();
    runs.sort_by_key(|r| r.window.start);
    let description = course.page.as_ref().and_then(|p| p.description.as_deref());
    let mut meta = Meta::new(
        &state,
        &format!("/courses/{}/", course.readable_id),
        course.title.clone(),
        text::summary(description, &course.title),
    );
    meta.og_type = "article";
    meta.image = course
        .page
        .as_ref()
        .and_then(|p| p.feature_image.as_deref())
        .map(|i| state.absolute(i));
    let mut instructors: Vec<String> = course.instructors.iter().map(|i| i.name.clone()).collect();
    if instructors.is_empty() {
        instructors = course
            .runs
            .iter()
            .flat_map(|r| r.instructors.iter().map(|i| i.name.clone()))
            .collect();
        instructors.dedup();
    }
    // A signed-in learner can take the audit track of an open run here; paid tracks wait
    // for checkout.
    let learner = super::account::current_user(&state, &headers).await;
    let open_audit = next
        .filter(|r| r.has_mode("audit") && run_open(course.site, r, now))
        .or_else(|| {
            course
                .runs
                .iter()
                .find(|r| r.has_mode("audit") && run_open(course.site, r, now))
        });
    let mut enroll_reason = enroll_reason(course.site, &course.runs, now);
    let mut free_run = None;
    if let Some(run) = open_audit {
        match &learner {
            Some(user) => {
                match store::enrollments::for_run(state.store.db(), user.id, run.id).await? {
                    Some(e) if e.active => {
                        enroll_reason =
                            format!("You are enrolled in {}. See your dashboard.", run.run_tag)
                    }
                    _ => {
                        free_run = Some(run.id);
                        enroll_reason = format!("Free audit track of {}.", run.run_tag);
                    }
                }
            }
            None => enroll_reason = "Sign in to enroll for free (audit track).".to_string(),
        }
    }
    if let Some(user) = &learner {
        meta.signed_in = Some(user.email.clone());
    }
    let buy = if state.settings.storefront.is_some() {
        buyable_run(&view, course, now).map(|(product, price)| {
            let label = match course.site {
                Site::Xpro => format!("Enroll now · {}", text::price(Some(price))),
                Site::Mitxonline => {
                    format!("Get the certificate track · {}", text::price(Some(price)))
                }
            };
            (product, label)
        })
    } else {
        None
    };
    let external = course.is_external.then(|| {
        course
            .page
            .as_ref()
            .and_then(|p| p.external_marketing_url.clone())
            .unwrap_or_default()
    });
    if let Some(platform) = course.platform.as_deref().filter(|_| external.is_some()) {
        enroll_reason = format!(
            "Delivered in collaboration with {platform}: you enroll on the {platform} site."
        );
    }
    let page = CoursePage {
        meta,
        external,
        asset_css: assets::CSS,
        asset_htmx: assets::HTMX,
        title: course.title.clone(),
        site_label,
        site_class,
        platform: course.platform.clone(),
        price: text::price(
            next.and_then(|r| r.product.as_ref())
                .and_then(|p| p.price()),
        ),
        pacing: match next {
            Some(run) if run.is_self_paced => "Self-paced".to_string(),
            Some(_) => "Instructor-led".to_string(),
            None => "No upcoming run".to_string(),
        },
        free_run,
        buy,
        enroll_reason,
        topics: course.topics.clone(),
        programs: course
            .programs
            .iter()
            .filter_map(|id| view.program(*id))
            .filter(|p| p.live)
            .map(|p| (format!("/programs/{}/", p.readable_id), p.title.clone()))
            .collect(),
        description: text::paragraphs(description),
        facts: course_facts(course),
        instructors,
        runs: runs
            .iter()
            .map(|r| RunLine {
                title: r.title.clone(),
                tag: r.run_tag.clone(),
                dates: span(
                    r.window.start,
                    r.window.end,
                    if r.is_self_paced {
                        "self-paced"
                    } else {
                        "no end date"
                    },
                ),
                enrollment: span(r.window.enrollment_start, r.window.enrollment_end, "open"),
                status: run_status(course.site, r, now),
                price: r
                    .product
                    .as_ref()
                    .and_then(|p| p.price())
                    .map(|p| text::price(Some(p))),
            })
            .collect(),
    };
    Ok(render(StatusCode::OK, &page))
}

#[derive(Template)]
#[template(path = "program.html")]
struct ProgramPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    title: String,
    site_label: &'static str,
    site_class: &'static str,
    program_type: String,
    price: String,
    credits: Option<String>,
    course_count: usize,
    enroll_reason: String,
    description: Vec<String>,
    tree: String,
}

/// The requirement tree as nested lists: each group says whether it is required or
/// elective and how many of it count; courses link to their pages.
fn tree_html(view: &CatalogView, nodes: &[Node]) -> String {
    let mut out = String::from("<ul>");
    for node in nodes {
        out.push_str("<li>");
        match &node.kind {
            NodeKind::Operator {
                operator,
                title,
                elective,
            } => {
                let rule = match operator {
                    domain::catalog::requirements::Operator::AllOf => "all of".to_string(),
                    domain::catalog::requirements::Operator::MinNumberOf { count } => {
                        format!("at least {count} of")
                    }
                };
                let label = title.clone().unwrap_or_else(|| {
                    if *elective {
                        "Electives".into()
                    } else {
                        "Required".into()
                    }
                });
                out.push_str(&format!(
                    "<strong>{}</strong> <span class=\"badge\">{}</span> <span class=\"muted\">({rule})</span>",
                    text::escape(&label),
                    if *elective { "Elective" } else { "Required" }
                ));
                out.push_str(&tree_html(view, &node.children));
            }
            NodeKind::Course(id) => match view.course(*id).filter(|c| !c.placeholder) {
                Some(c) => out.push_str(&format!(
                    "<a href=\"/courses/{}/\">{}</a>",
                    text::escape(&c.readable_id),
                    text::escape(&c.title)
                )),
                None => {
                    out.push_str("<span class=\"muted\">A course not yet in the catalog</span>")
                }
            },
            NodeKind::Program(id) => match view.program(*id) {
                Some(p) => out.push_str(&format!(
                    "Program: <a href=\"/programs/{}/\">{}</a>",
                    text::escape(&p.readable_id),
                    text::escape(&p.title)
                )),
                None => out.push_str("<span class=\"muted\">A program not in the catalog</span>"),
            },
        }
        out.push_str("</li>");
    }
    out.push_str("</ul>");
    out
}

pub async fn program(
    State(state): State<AppState>,
    Path(readable_id): Path<String>,
) -> Result<Response, PageError> {
    let view = state.catalog.get().await?.view.clone();
    let now = state.now();
    let Some(program) = view.program_by_readable_id(&readable_id).filter(|p| p.live) else {
        return Err(PageError::not_found(format!(
            "There is no program {readable_id}."
        )));
    };
    let (site_label, site_class) = site_label(program.site);
    let courses: Vec<&CourseView> = program
        .course_leaves()
        .iter()
        .filter_map(|(id, _)| view.course(*id))
        .filter(|c| c.live)
        .collect();
    let credits_centi: i32 = program
        .page
        .as_ref()
        .and_then(|p| p.credits_centi)
        .unwrap_or_else(|| {
            courses
                .iter()
                .filter_map(|c| c.page.as_ref().and_then(|p| p.credits_centi))
                .sum()
        });
    let runs: Vec<RunView> = courses
        .iter()
        .flat_map(|c| c.runs.iter().cloned())
        .collect();
    let description = program.page.as_ref().and_then(|p| p.description.as_deref());
    let mut meta = Meta::new(
        &state,
        &format!("/programs/{}/", program.readable_id),
        program.title.clone(),
        text::summary(description, &program.title),
    );
    meta.image = program
        .page
        .as_ref()
        .and_then(|p| p.feature_image.as_deref())
        .map(|i| state.absolute(i));
    let page = ProgramPage {
        meta,
        asset_css: assets::CSS,
        asset_htmx: assets::HTMX,
        title: program.title.clone(),
        site_label,
        site_class,
        program_type: program.program_type.clone(),
        // MITx Online programs often sell through their courses; their page shows a list price.
        price: text::price(
            program
                .product
                .as_ref()
                .and_then(|p| p.price())
                .or_else(|| program.page.as_ref().and_then(|p| p.list_price)),
        ),
        credits: (credits_centi > 0)
            .then(|| format!("{:.2} CEUs in total", credits_centi as f64 / 100.0)),
        course_count: courses.len(),
        enroll_reason: enroll_reason(program.site, &runs, now),
        description: text::paragraphs(description),
        tree: tree_html(&view, &program.requirements),
    };
    Ok(render(StatusCode::OK, &page))
}
