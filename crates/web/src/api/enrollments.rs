//! `/api/v1/enrollments/`: the signed-in learner's own run enrollments (MITx Online v1
//! routes): list, create (free audit track), and delete (unenroll). Session-authenticated,
//! so unsafe methods must repeat the CSRF cookie in an `X-CSRFToken` header, as DRF asks.

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Value, json};
use services::enrollments::{EnrollError, enroll_free, unenroll};
use store::catalog::read::CatalogView;
use store::enrollments::Enrollment;

use crate::csrf::{COOKIE, cookie_value};
use crate::pages::account::current_user;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/enrollments/", get(list).post(create))
        .route("/api/v1/enrollments/{id}/", delete(remove))
}

fn csrf_ok(headers: &HeaderMap) -> bool {
    let header = headers.get("x-csrftoken").and_then(|v| v.to_str().ok());
    matches!((cookie_value(headers, COOKIE), header), (Some(cookie), Some(sent)) if cookie.len() == 64 && cookie == sent)
}

fn shape(view: &CatalogView, e: &Enrollment) -> Value {
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
        "certificate": null,
    })
}

fn refused(error: EnrollError) -> ApiError {
    match error {
        EnrollError::NoSuchRun | EnrollError::NoSuchEnrollment => ApiError::NotFound,
        EnrollError::Db(message) => ApiError::Database(store::Error::Custom(message)),
        other => ApiError::BadRequest(other.to_string()),
    }
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let snapshot = state.catalog.get().await?;
    let rows = store::enrollments::of_user(state.store.db(), user.id).await?;
    Ok(Json(
        rows.iter()
            .filter(|e| e.active)
            .map(|e| shape(&snapshot.view, e))
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
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    if !csrf_ok(&headers) {
        return Err(ApiError::Forbidden(
            "CSRF token missing or incorrect.".to_string(),
        ));
    }
    let request: Create =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let snapshot = state.catalog.get().await?;
    let txn = state.store.write().await?;
    let enrollment = enroll_free(&txn, &snapshot.view, user.id, request.run_id, state.now())
        .await
        .map_err(refused)?;
    txn.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(shape(&snapshot.view, &enrollment)),
    )
        .into_response())
}

async fn remove(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    if !csrf_ok(&headers) {
        return Err(ApiError::Forbidden(
            "CSRF token missing or incorrect.".to_string(),
        ));
    }
    let txn = state.store.write().await?;
    unenroll(&txn, user.id, id, state.now())
        .await
        .map_err(refused)?;
    txn.commit().await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
