//! The MITx Online dialect: `/api/v2/courses/`, `/api/v2/programs/` (always paginated,
//! ordered by title, detail by id or readable id) and the v1 routes (`/api/v1/courses/`,
//! `/api/v1/course_runs/`, `/api/v1/programs/`; v1 lists paginate only when `page` is
//! given). Shapes follow the MITx Online OpenAPI schemas `CourseWithCourseRunsSerializerV2`,
//! `CourseRunV2`, `V2ProgramDetail` and their v1 counterparts (`shapes`); here are the
//! routes, the list filters and the lookups.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::Uri;
use axum::response::Response;
use axum::routing::get;
use domain::catalog::{PageRecord, Site};
use serde_json::Value;
use store::catalog::read::{CourseView, ProgramView, RunView};

use super::{Page, Params, catalog_json, paginate};
use crate::{ApiError, AppState};

mod shapes;

use shapes::Ctx;

const PAGE_SIZE: usize = 12;
const MAX_PAGE_SIZE: usize = 100;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v2/courses/", get(v2_courses))
        .route("/api/v2/courses/{id}/", get(v2_course))
        .route("/api/v2/programs/", get(v2_programs))
        .route("/api/v2/programs/{id}/", get(v2_program))
        .route("/api/v1/courses/", get(v1_courses))
        .route("/api/v1/courses/{id}/", get(v1_course))
        .route("/api/v1/course_runs/", get(v1_runs))
        .route("/api/v1/course_runs/{id}/", get(v1_run))
        .route("/api/v1/programs/", get(v1_programs))
        .route("/api/v1/programs/{id}/", get(v1_program))
}

/// The filters the course and program lists share.
struct Filters<'p> {
    live: Option<bool>,
    page_live: Option<bool>,
    ids: Option<Vec<i64>>,
    readable_id: Option<&'p str>,
    /// An organization or contract catalog was asked for: it needs a member, and without
    /// accounts nobody is one, so it is empty.
    organization_scoped: bool,
}

impl<'p> Filters<'p> {
    fn parse(params: &'p Params) -> Result<Self, ApiError> {
        params.number("org_id")?;
        params.number("contract_id")?;
        Ok(Self {
            live: params.flag("live")?,
            page_live: params.flag("page__live")?,
            ids: params.ids("id")?,
            readable_id: params.get("readable_id"),
            organization_scoped: params.get("org_id").is_some()
                || params.get("contract_id").is_some(),
        })
    }

    fn admit(&self, id: i64, readable_id: &str, live: bool, page: Option<&PageRecord>) -> bool {
        !self.organization_scoped
            && self.live.is_none_or(|l| live == l)
            && self
                .page_live
                .is_none_or(|l| page.is_some_and(|p| p.live) == l)
            && self.ids.as_ref().is_none_or(|ids| ids.contains(&id))
            && self.readable_id.is_none_or(|r| readable_id == r)
    }
}

/// Courses of this dialect that pass the list filters, ordered by title, each with the runs
/// the response shows (`courserun_is_enrollable` filters both).
fn filter_courses<'v>(
    ctx: &Ctx<'v>,
    params: &Params,
) -> Result<Vec<(&'v CourseView, Vec<&'v RunView>)>, ApiError> {
    let filters = Filters::parse(params)?;
    let enrollable = params.flag("courserun_is_enrollable")?;
    let mut courses: Vec<_> = ctx
        .view
        .courses
        .iter()
        .filter(|c| c.site == Site::Mitxonline && !c.placeholder)
        .filter(|c| filters.admit(c.id, &c.readable_id, c.live, c.page.as_ref()))
        .filter_map(|c| {
            let runs: Vec<&RunView> = c
                .runs
                .iter()
                .filter(|r| {
                    enrollable.is_none_or(|wanted| r.window.is_enrollable(ctx.now) == wanted)
                })
                .collect();
            (enrollable.is_none() || !runs.is_empty()).then_some((c, runs))
        })
        .collect();
    courses.sort_by(|a, b| a.0.title.cmp(&b.0.title).then(a.0.id.cmp(&b.0.id)));
    Ok(courses)
}

fn filter_programs<'v>(ctx: &Ctx<'v>, params: &Params) -> Result<Vec<&'v ProgramView>, ApiError> {
    let filters = Filters::parse(params)?;
    let mut programs: Vec<_> = ctx
        .view
        .programs
        .iter()
        .filter(|p| p.site == Site::Mitxonline && !p.b2b_only)
        .filter(|p| filters.admit(p.id, &p.readable_id, p.live, p.page.as_ref()))
        .collect();
    programs.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
    Ok(programs)
}

/// Detail lookup by numeric id or readable id, among the records the filters let through.
fn pick<T>(
    items: Vec<T>,
    key: &str,
    id: impl Fn(&T) -> i64,
    readable: impl Fn(&T) -> &str,
) -> Result<T, ApiError> {
    let numeric = key.parse::<i64>().ok();
    items
        .into_iter()
        .find(|item| numeric == Some(id(item)) || readable(item) == key)
        .ok_or(ApiError::NotFound)
}

async fn render(
    state: &AppState,
    uri: &Uri,
    f: impl FnOnce(&Ctx<'_>) -> Result<Value, ApiError>,
) -> Result<Response, ApiError> {
    catalog_json(state, uri, |view, now| f(&Ctx { state, view, now })).await
}

fn url(state: &AppState, path: &str) -> String {
    state.absolute(path)
}

async fn v2_courses(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let page = Page::from(&params, PAGE_SIZE, MAX_PAGE_SIZE)?;
    render(&state, &uri, |ctx| {
        let courses = filter_courses(ctx, &params)?;
        paginate(
            &courses,
            &page,
            &params,
            &url(&state, "/api/v2/courses/"),
            |(c, runs)| ctx.v2_course(c, runs),
        )
    })
    .await
}

async fn v2_course(
    State(state): State<AppState>,
    uri: Uri,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    render(&state, &uri, |ctx| {
        let (course, runs) = pick(
            filter_courses(ctx, &params)?,
            &key,
            |c| c.0.id,
            |c| &c.0.readable_id,
        )?;
        Ok(ctx.v2_course(course, &runs))
    })
    .await
}

async fn v2_programs(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let page = Page::from(&params, PAGE_SIZE, MAX_PAGE_SIZE)?;
    let with_parents = params.get("readable_id").is_some();
    render(&state, &uri, |ctx| {
        let programs = filter_programs(ctx, &params)?;
        paginate(
            &programs,
            &page,
            &params,
            &url(&state, "/api/v2/programs/"),
            |p| ctx.v2_program(p, with_parents),
        )
    })
    .await
}

async fn v2_program(
    State(state): State<AppState>,
    uri: Uri,
    Path(key): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    render(&state, &uri, |ctx| {
        let program = pick(
            filter_programs(ctx, &params)?,
            &key,
            |p| p.id,
            |p| &p.readable_id,
        )?;
        Ok(ctx.v2_program(program, true))
    })
    .await
}

/// v1 lists are bare arrays unless the caller asks for a page.
fn v1_list<T>(
    items: &[T],
    params: &Params,
    url: &str,
    render: impl Fn(&T) -> Value,
) -> Result<Value, ApiError> {
    if params.get("page").is_some() {
        let page = Page::from(params, PAGE_SIZE, MAX_PAGE_SIZE)?;
        paginate(items, &page, params, url, render)
    } else {
        Ok(Value::Array(items.iter().map(render).collect()))
    }
}

async fn v1_courses(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let with_programs = params.get("readable_id").is_some();
    render(&state, &uri, |ctx| {
        let courses = filter_courses(ctx, &params)?;
        v1_list(
            &courses,
            &params,
            &url(&state, "/api/v1/courses/"),
            |(c, runs)| ctx.v1_course(c, runs, with_programs),
        )
    })
    .await
}

async fn v1_course(
    State(state): State<AppState>,
    uri: Uri,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    render(&state, &uri, |ctx| {
        let (course, runs) = pick(
            filter_courses(ctx, &params)?,
            &id.to_string(),
            |c| c.0.id,
            |_| "",
        )?;
        Ok(ctx.v1_course(course, &runs, true))
    })
    .await
}

/// Live runs of MITx Online courses (`live` and `id` filters), each with its course.
fn v1_run_items(ctx: &Ctx<'_>, params: &Params) -> Result<Vec<Value>, ApiError> {
    let live = params.flag("live")?;
    let ids = params.ids("id")?;
    Ok(ctx
        .view
        .courses
        .iter()
        .filter(|c| c.site == Site::Mitxonline && !c.placeholder)
        .flat_map(|c| c.runs.iter().map(move |r| (c, r)))
        .filter(|(_, r)| r.window.live || live == Some(false))
        .filter(|(_, r)| live.is_none_or(|l| r.window.live == l))
        .filter(|(_, r)| ids.as_ref().is_none_or(|ids| ids.contains(&r.id)))
        .map(|(c, r)| {
            let mut run = ctx.run(r, true);
            run.course = Some(ctx.v1_course_base(c, false));
            serde_json::to_value(run).unwrap_or(Value::Null)
        })
        .collect())
}

async fn v1_runs(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    render(&state, &uri, |ctx| {
        Ok(Value::Array(v1_run_items(ctx, &params)?))
    })
    .await
}

async fn v1_run(
    State(state): State<AppState>,
    uri: Uri,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    render(&state, &uri, |ctx| {
        let params = Params::parse(Some(&format!("id={id}")));
        v1_run_items(ctx, &params)?
            .into_iter()
            .next()
            .ok_or(ApiError::NotFound)
    })
    .await
}

async fn v1_programs(
    State(state): State<AppState>,
    uri: Uri,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    render(&state, &uri, |ctx| {
        let programs = filter_programs(ctx, &params)?;
        v1_list(&programs, &params, &url(&state, "/api/v1/programs/"), |p| {
            ctx.v1_program(p)
        })
    })
    .await
}

async fn v1_program(
    State(state): State<AppState>,
    uri: Uri,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    render(&state, &uri, |ctx| {
        let program = pick(
            filter_programs(ctx, &Params::default())?,
            &id.to_string(),
            |p| p.id,
            |_| "",
        )?;
        Ok(ctx.v1_program(program))
    })
    .await
}
