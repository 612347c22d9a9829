//! The signed-in learner's own enrollments. `/api/v1/enrollments/` (MITx Online v1): list,
//! create (free audit track), update (`receive_emails`, the course-email choice pushed to
//! edX) and delete (unenroll); session-authenticated, so unsafe methods must repeat the
//! CSRF cookie in an `X-CSRFToken` header, as DRF asks.
//! `/api/enrollments/` is the xPRO dashboard shape (current and past, active only).

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Value, json};
use services::enrollments::{EnrollError, enroll_free, set_course_emails, unenroll};
use store::catalog::read::CatalogView;
use store::certificates::{Certificate, Of};
use store::enrollments::Enrollment;

use super::program_enrollments::certificate_json;

use crate::request::{current_user, learner_with_csrf};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/enrollments/", get(xpro_dashboard))
        .route("/api/v1/enrollments/", get(list).post(create))
        .route(
            "/api/v1/enrollments/{id}/",
            delete(remove).patch(update).put(update),
        )
}

/// The learner's valid certificates and grades, for the enrollment shapes.
#[derive(Default)]
struct Earned {
    certificates: Vec<Certificate>,
    grades: HashMap<i64, domain::certificates::Grade>,
}

impl Earned {
    async fn of(state: &AppState, user_id: i64) -> Result<Self, ApiError> {
        let db = state.store.db();
        Ok(Earned {
            certificates: store::certificates::of_user(db, user_id)
                .await?
                .into_iter()
                .filter(|c| !c.is_revoked)
                .collect(),
            grades: store::certificates::grades_of_user(db, user_id)
                .await?
                .into_iter()
                .collect(),
        })
    }

    /// `{uuid, link}` or null, as both references give it.
    fn certificate(&self, of: Of) -> Value {
        self.certificates
            .iter()
            .find(|c| c.of == of)
            .map_or(Value::Null, certificate_json)
    }

    /// MITx Online's `grades`: `[{grade, letter_grade, passed, set_by_admin, grade_percent}]`.
    fn grades(&self, run_id: i64) -> Value {
        let grades: Vec<Value> = self
            .grades
            .get(&run_id)
            .map(|g| {
                json!({
                    "grade": g.grade,
                    "letter_grade": g.letter,
                    "passed": g.passed,
                    "set_by_admin": g.set_by_admin,
                    "grade_percent": (g.grade * 100.0).round_ties_even(),
                })
            })
            .into_iter()
            .collect();
        Value::Array(grades)
    }
}

fn shape(view: &CatalogView, earned: &Earned, e: &Enrollment) -> Value {
    let run = view.run(e.run_id).map(|(course, run)| {
        json!({
            "id": run.id,
            "title": run.title,
            "courseware_id": run.courseware_id,
            "run_tag": run.run_tag,
            "start_date": run.window.start,
            "end_date": run.window.end,
            "course": {"id": course.id, "title": course.title, "readable_id": course.readable_id},
        })
    });
    json!({
        "id": e.id,
        "run": run,
        "enrollment_mode": e.mode,
        "active": e.active,
        "change_status": e.change_status,
        "edx_enrolled": e.edx_enrolled,
        "edx_emails_subscription": e.edx_emails_subscription,
        "certificate": earned.certificate(Of::Run(e.run_id)),
        "grades": earned.grades(e.run_id),
    })
}

fn refused(error: EnrollError) -> ApiError {
    match error {
        EnrollError::NoSuchRun | EnrollError::NoSuchEnrollment => ApiError::NotFound,
        EnrollError::Db(error) => ApiError::Database(error),
        other => ApiError::BadRequest(other.to_string()),
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let snapshot = state.catalog.get().await?;
    let rows = store::enrollments::of_user(state.store.db(), user.id).await?;
    let earned = Earned::of(&state, user.id).await?;
    Ok(Json(
        rows.iter()
            .filter(|e| e.active)
            .map(|e| shape(&snapshot.view, &earned, e))
            .collect::<Vec<_>>(),
    )
    .into_response())
}

#[derive(Deserialize)]
struct Create {
    run_id: i64,
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let request: Create = super::parse_body(&body)?;
    let snapshot = state.catalog.get().await?;
    let enrollment = enroll_free(
        &state.store,
        &snapshot.view,
        user.id,
        request.run_id,
        state.now(),
    )
    .await
    .map_err(refused)?;
    Ok((
        StatusCode::CREATED,
        Json(shape(
            &snapshot.view,
            &Earned::of(&state, user.id).await?,
            &enrollment,
        )),
    )
        .into_response())
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    unenroll(&state.store, user.id, id, state.now())
        .await
        .map_err(refused)?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `receive_emails` as DRF reads a boolean from JSON or a form: `true`/`"on"` and the like
/// turn email on, `false`/`""`/`"off"` off; anything else is refused.
fn receive_emails(headers: &HeaderMap, body: &[u8]) -> Result<bool, ApiError> {
    let form = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let value = if form {
        form_urlencoded::parse(body)
            .find(|(k, _)| k == "receive_emails")
            .map(|(_, v)| Value::String(v.into_owned()))
    } else {
        serde_json::from_slice::<Value>(body)
            .map_err(|e| ApiError::BadRequest(format!("body: {e}")))?
            .get("receive_emails")
            .cloned()
    };
    match value {
        Some(Value::Bool(b)) => Ok(b),
        Some(Value::String(s)) => match s.to_ascii_lowercase().as_str() {
            "true" | "on" | "1" | "yes" => Ok(true),
            "false" | "off" | "0" | "no" | "" => Ok(false),
            _ => Err(ApiError::BadRequest(format!(
                "receive_emails: {s:?} is not a boolean"
            ))),
        },
        Some(other) => Err(ApiError::BadRequest(format!(
            "receive_emails: {other} is not a boolean"
        ))),
        None => Err(ApiError::BadRequest(
            "receive_emails: this field is required".to_string(),
        )),
    }
}

async fn update(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let receive = receive_emails(&headers, &body)?;
    let snapshot = state.catalog.get().await?;
    let enrollment = set_course_emails(&state.store, user.id, id, receive, state.now())
        .await
        .map_err(refused)?;
    let earned = Earned::of(&state, user.id).await?;
    Ok(Json(shape(&snapshot.view, &earned, &enrollment)).into_response())
}

/// xPRO's dashboard payload. Program enrollments come with program purchases (commerce);
/// until then their lists are empty. Company and receipt are null until B2B and orders are
/// linked here.
async fn xpro_dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let snapshot = state.catalog.get().await?;
    let now = state.now();
    let earned = Earned::of(&state, user.id).await?;
    let view = &snapshot.view;
    let db = state.store.db();
    let programs: Vec<_> = store::enrollments::program_enrollments_of(db, user.id)
        .await?
        .into_iter()
        .filter(|p| p.active)
        .filter_map(|p| Some((view.program(p.program_id)?, p)))
        .collect();
    // Runs of a program's courses are listed under the program, in the program's order.
    let mut in_program: HashMap<i64, Vec<(usize, bool, Value)>> = HashMap::new();
    let (mut current, mut past) = (Vec::new(), Vec::new());
    for e in store::enrollments::of_user(db, user.id)
        .await?
        .into_iter()
        .filter(|e| e.active)
    {
        let Some((course, run)) = view.run(e.run_id) else {
            continue;
        };
        let page = course.page.clone().unwrap_or_default();
        let item = json!({
            "run": {
                "course": {
                    "id": course.id,
                    "title": course.title,
                    "description": page.description,
                    "thumbnail_url": page.feature_image.as_deref().map(|i| state.absolute(i)),
                    "readable_id": course.readable_id,
                },
                "title": run.title,
                "start_date": run.window.start,
                "end_date": run.window.end,
                "enrollment_start": run.window.enrollment_start,
                "enrollment_end": run.window.enrollment_end,
                "expiration_date": run.expiration_date,
                "courseware_url": run.courseware_url,
                "courseware_id": run.courseware_id,
                "id": run.id,
            },
            "company": null,
            "certificate": earned.certificate(Of::Run(run.id)),
            "receipt": null,
        });
        let ended = run.window.is_past(now);
        let position = programs.iter().find_map(|(program, _)| {
            let leaves = program.course_leaves();
            let at = leaves.iter().position(|(c, _)| *c == course.id)?;
            Some((program.id, at))
        });
        match position {
            Some((program, at)) => in_program
                .entry(program)
                .or_default()
                .push((at, ended, item)),
            None if ended => past.push(item),
            None => current.push(item),
        }
    }
    let (mut current_programs, mut past_programs) = (Vec::new(), Vec::new());
    for (program, enrollment) in &programs {
        let mut runs = in_program.remove(&program.id).unwrap_or_default();
        runs.sort_by_key(|(at, _, _)| *at);
        let ended = !runs.is_empty() && runs.iter().all(|(_, ended, _)| *ended);
        let page = program.page.clone().unwrap_or_default();
        let item = json!({
            "id": enrollment.id,
            "program": {
                "title": program.title,
                "description": page.description,
                "thumbnail_url": page.feature_image.as_deref().map(|i| state.absolute(i)),
                "readable_id": program.readable_id,
                "id": program.id,
            },
            "course_run_enrollments": runs.into_iter().map(|(_, _, item)| item).collect::<Vec<_>>(),
            "company": null,
            "certificate": earned.certificate(Of::Program(program.id)),
            "receipt": enrollment.order_id,
        });
        if ended {
            past_programs.push(item)
        } else {
            current_programs.push(item)
        }
    }
    Ok(Json(json!({
        "program_enrollments": current_programs,
        "course_run_enrollments": current,
        "past_course_run_enrollments": past,
        "past_program_enrollments": past_programs,
    }))
    .into_response())
}
