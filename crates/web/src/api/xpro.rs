//! The xPRO dialect: `/api/courses/` and `/api/programs/`, public, unpaginated bare arrays
//! with the fields MIT Learn's xPRO ETL reads (`courses/serializers.py` CourseSerializer and
//! ProgramSerializer). xPRO also mounted these under `/api/v1/`; here that prefix belongs to
//! the MITx Online dialect, whose v1 routes have the same paths.

use std::collections::BTreeSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::catalog::Site;
use domain::catalog::predicates::xpro_first_unexpired_run;
use serde_json::{Value, json};
use store::catalog::read::{CatalogView, CourseView, ProgramView, RunView};

use axum::http::Uri;

use super::{catalog_json, price_number, utc};
use crate::{ApiError, AppState};

const DEFAULT_THUMBNAIL: &str = "/static/images/mit-dome.png";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/courses/", get(courses))
        .route("/api/courses/{id}/", get(course))
        .route("/api/programs/", get(programs))
        .route("/api/programs/{id}/", get(program))
}

struct Ctx<'a> {
    state: &'a AppState,
    view: &'a CatalogView,
    now: DateTime<Utc>,
}

fn time(value: Option<DateTime<Utc>>) -> Value {
    utc(&value, serde_json::value::Serializer).unwrap_or(Value::Null)
}

impl Ctx<'_> {
    /// The `BaseProductSerializer` fields, read from the marketing page.
    fn page_fields(
        &self,
        url_path: String,
        page: Option<&domain::catalog::PageRecord>,
        language: &Option<String>,
    ) -> serde_json::Map<String, Value> {
        let page = page.cloned().unwrap_or_default();
        let thumbnail = page.feature_image.as_deref().unwrap_or(DEFAULT_THUMBNAIL);
        let fields = json!({
            "url": self.state.absolute(&url_path),
            "description": page.description,
            "external_marketing_url": page.external_marketing_url,
            "marketing_hubspot_form_id": page.marketing_hubspot_form_id.unwrap_or_default(),
            "thumbnail_url": self.state.absolute(thumbnail),
            "time_commitment": page.time_commitment,
            "min_weekly_hours": page.min_weekly_hours,
            "max_weekly_hours": page.max_weekly_hours,
            "duration": page.duration,
            "min_weeks": page.min_weeks,
            "max_weeks": page.max_weeks,
            "format": page.format,
            "video_url": page.video_url,
            "credits": page.credits_centi.map(|c| c as f64 / 100.0),
            "availability": "dated",
            "prerequisites": [],
            "language": language,
        });
        match fields {
            Value::Object(map) => map,
            _ => unreachable!("a JSON object literal"),
        }
    }

    fn instructors(run: &RunView, course: &CourseView) -> Vec<Value> {
        let list = if run.instructors.is_empty() {
            &course.instructors
        } else {
            &run.instructors
        };
        list.iter().map(|i| json!({"name": i.name})).collect()
    }

    fn run(&self, run: &RunView, course: &CourseView) -> Value {
        let w = &run.window;
        json!({
            "title": run.title,
            "start_date": time(w.start),
            "end_date": time(w.end),
            "enrollment_start": time(w.enrollment_start),
            "enrollment_end": time(w.enrollment_end),
            "expiration_date": time(run.expiration_date),
            "courseware_url": run.courseware_url,
            "courseware_id": run.courseware_id,
            "run_tag": run.run_tag,
            "id": run.id,
            "product_id": run.product.as_ref().map(|p| p.id),
            "instructors": Self::instructors(run, course),
            "current_price": price_number(run.product.as_ref().and_then(|p| p.price())),
        })
    }

    /// Live, dated, unexpired runs by start date; the course list also requires a product.
    fn unexpired_runs<'c>(&self, course: &'c CourseView, need_product: bool) -> Vec<&'c RunView> {
        let mut runs: Vec<&RunView> = course
            .runs
            .iter()
            .filter(|r| {
                r.window.live && r.window.start.is_some() && r.window.is_unexpired(self.now)
            })
            .filter(|r| !need_product || r.product.as_ref().is_some_and(|p| p.is_active))
            .collect();
        runs.sort_by_key(|r| r.window.start);
        runs
    }

    fn next_run_id(&self, course: &CourseView) -> Option<i64> {
        let runs: Vec<(i64, &domain::catalog::RunWindow)> =
            course.runs.iter().map(|r| (r.id, &r.window)).collect();
        xpro_first_unexpired_run(&runs, self.now)
    }

    fn course(&self, course: &CourseView, need_product: bool) -> Value {
        let mut out = self.page_fields(
            format!("/courses/{}/", course.readable_id),
            course.page.as_ref(),
            &course.language,
        );
        let mut topics = course.topics.clone();
        topics.sort();
        let extra = json!({
            "id": course.id,
            "title": course.title,
            "readable_id": course.readable_id,
            "courseruns": self.unexpired_runs(course, need_product).into_iter().map(|r| self.run(r, course)).collect::<Vec<_>>(),
            "next_run_id": self.next_run_id(course),
            "topics": topics.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "is_external": course.is_external,
            "platform": course.platform,
        });
        if let Value::Object(extra) = extra {
            out.extend(extra);
        }
        Value::Object(out)
    }

    fn program(&self, program: &ProgramView) -> Value {
        let view = self.view;
        let courses: Vec<&CourseView> = program
            .course_leaves()
            .into_iter()
            .filter_map(|(id, _)| view.course(id))
            .filter(|c| c.live)
            .collect();
        let first_run = courses
            .first()
            .and_then(|c| self.next_run_id(c))
            .and_then(|id| view.run(id))
            .map(|(_, r)| r);
        let end = courses
            .iter()
            .flat_map(|c| &c.runs)
            .filter(|r| r.window.live)
            .filter_map(|r| r.window.end)
            .max();
        let topics: BTreeSet<&String> = courses.iter().flat_map(|c| &c.topics).collect();
        let mut out = self.page_fields(
            format!("/programs/{}/", program.readable_id),
            program.page.as_ref(),
            &program.language,
        );
        let extra = json!({
            "title": program.title,
            "readable_id": program.readable_id,
            "current_price": price_number(program.product.as_ref().and_then(|p| p.price())),
            "id": program.id,
            "courses": courses.iter().map(|c| self.course(c, false)).collect::<Vec<_>>(),
            "start_date": time(first_run.and_then(|r| r.window.start)),
            "end_date": time(end),
            "enrollment_start": time(first_run.and_then(|r| r.window.enrollment_start)),
            "instructors": program.instructors.iter().map(|i| json!({"name": i.name})).collect::<Vec<_>>(),
            "topics": topics.into_iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "is_external": program.is_external,
            "platform": program.platform,
        });
        if let Value::Object(extra) = extra {
            out.extend(extra);
        }
        Value::Object(out)
    }
}

fn listed_course(course: &CourseView) -> bool {
    course.site == Site::Xpro
        && course.live
        && !course.placeholder
        && course.page.as_ref().is_some_and(|p| p.live)
}

fn listed_program(program: &ProgramView) -> bool {
    program.site == Site::Xpro
        && program.live
        && program.product.is_some()
        && program.page.as_ref().is_some_and(|p| p.live)
}

async fn with_ctx(
    state: &AppState,
    uri: &Uri,
    f: impl FnOnce(&Ctx<'_>) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    catalog_json(state, uri, |view, now| f(&Ctx { state, view, now })).await
}

async fn courses(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    with_ctx(&state, &uri, |ctx| {
        Ok(Value::Array(
            ctx.view
                .courses
                .iter()
                .filter(|c| listed_course(c))
                .map(|c| ctx.course(c, true))
                .collect(),
        ))
    })
    .await
}

async fn course(
    State(state): State<AppState>,
    uri: Uri,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    with_ctx(&state, &uri, |ctx| {
        let course = ctx
            .view
            .course(id)
            .filter(|c| listed_course(c))
            .ok_or(ApiError::NotFound)?;
        Ok(ctx.course(course, true))
    })
    .await
}

async fn programs(State(state): State<AppState>, uri: Uri) -> Result<Response, ApiError> {
    with_ctx(&state, &uri, |ctx| {
        Ok(Value::Array(
            ctx.view
                .programs
                .iter()
                .filter(|p| listed_program(p))
                .map(|p| ctx.program(p))
                .collect(),
        ))
    })
    .await
}

async fn program(
    State(state): State<AppState>,
    uri: Uri,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    with_ctx(&state, &uri, |ctx| {
        let program = ctx
            .view
            .program(id)
            .filter(|p| listed_program(p))
            .ok_or(ApiError::NotFound)?;
        Ok(ctx.program(program))
    })
    .await
}
