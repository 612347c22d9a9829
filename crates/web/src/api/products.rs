//! xPRO's public product list (`GET /api/products/`, `/api/products/{id}/`): what can be
//! bought now, by xPRO's rules (`ecommerce/views.py` ProductViewSet), with the latest
//! version's price and what the product sells.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use domain::catalog::Site;
use serde_json::{Value, json};
use services::commerce::{Item, item};
use store::catalog::read::{CatalogView, Purchasable};

use super::Params;
use super::baskets::product_version_json;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/products/", get(list))
        .route("/api/products/{id}/", get(one))
}

/// A run whose enrollment has closed, or a course with no run still open, is past selling.
fn enrollment_closed(end: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    end.is_some_and(|e| e < now)
}

/// xPRO's sellable rules: an active product with a version, not external; a run still
/// taking enrollments; a program with a current program run and no course whose runs have
/// all closed.
fn sellable(view: &CatalogView, item: &Item, now: DateTime<Utc>) -> bool {
    match item.sells {
        Purchasable::Run(run_id) => view.run(run_id).is_some_and(|(course, run)| {
            !course.is_external && !enrollment_closed(run.window.enrollment_end, now)
        }),
        Purchasable::Program(program_id) => view.program(program_id).is_some_and(|program| {
            !program.is_external
                && program
                    .runs
                    .iter()
                    .any(|r| r.end_date.is_none_or(|end| end > now))
                && program.course_leaves().iter().all(|(course_id, _)| {
                    view.course(*course_id).is_some_and(|c| {
                        c.runs
                            .iter()
                            .any(|r| !enrollment_closed(r.window.enrollment_end, now))
                    })
                })
        }),
    }
}

fn product_json(view: &CatalogView, item: &Item) -> Value {
    let (kind, content) = match item.sells {
        Purchasable::Run(run_id) => {
            let (course, run) = view.run(run_id).expect("an item's run is in the view");
            (
                "courserun",
                json!({
                    "id": run.id,
                    "title": run.title,
                    "start_date": run.window.start,
                    "end_date": run.window.end,
                    "course": {"id": course.id, "title": course.title},
                    "readable_id": run.courseware_id,
                    "enrollment_start": run.window.enrollment_start,
                    "enrollment_end": run.window.enrollment_end,
                }),
            )
        }
        Purchasable::Program(program_id) => {
            let program = view
                .program(program_id)
                .expect("an item's program is in the view");
            (
                "program",
                json!({"id": program.id, "title": program.title, "readable_id": program.readable_id}),
            )
        }
    };
    json!({
        "id": item.product_id,
        "product_type": kind,
        "is_private": false,
        "latest_version": product_version_json(view, item),
        "content_object": content,
    })
}

/// xPRO products on sale, each with the sort key xPRO uses (program title, then course
/// title).
fn on_sale(view: &CatalogView, now: DateTime<Utc>) -> Vec<(String, String, Item)> {
    let runs = view
        .courses
        .iter()
        .filter(|c| c.site == Site::Xpro)
        .flat_map(|c| {
            c.runs.iter().filter_map(move |r| {
                r.product
                    .as_ref()
                    .map(|p| (String::new(), c.title.clone(), p.id))
            })
        });
    let programs = view
        .programs
        .iter()
        .filter(|p| p.site == Site::Xpro)
        .filter_map(|p| {
            p.product
                .as_ref()
                .map(|product| (p.title.clone(), String::new(), product.id))
        });
    let mut out: Vec<(String, String, Item)> = runs
        .chain(programs)
        .filter_map(|(program, course, id)| item(view, id).map(|i| (program, course, i)))
        .filter(|(_, _, i)| sellable(view, i, now))
        .collect();
    out.sort_by(|a, b| (&a.0, &a.1, a.2.product_id).cmp(&(&b.0, &b.1, b.2.product_id)));
    out
}

/// `?product_type=courserun|program` filters.
async fn list(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let wanted = params.get("product_type").filter(|t| !t.is_empty());
    if let Some(t) = wanted
        && !matches!(t, "courserun" | "program")
    {
        return Err(ApiError::BadRequest(format!(
            "product_type: \"{t}\" is not courserun or program"
        )));
    }
    let snapshot = state.catalog.get().await?;
    let view = &snapshot.view;
    let products: Vec<Value> = on_sale(view, state.now())
        .iter()
        .map(|(_, _, i)| product_json(view, i))
        .filter(|p| wanted.is_none_or(|t| p["product_type"] == t))
        .collect();
    Ok(Json(products).into_response())
}

async fn one(State(state): State<AppState>, Path(id): Path<i64>) -> Result<Response, ApiError> {
    let snapshot = state.catalog.get().await?;
    let view = &snapshot.view;
    let found = on_sale(view, state.now())
        .into_iter()
        .find(|(_, _, i)| i.product_id == id)
        .ok_or(ApiError::NotFound)?;
    Ok(Json(product_json(view, &found.2)).into_response())
}
