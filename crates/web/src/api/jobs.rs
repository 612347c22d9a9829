//! The staff jobs API: the same operations as `registrar jobs …`.

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use jobs::admin;

use super::Params;
use super::staff::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/staff/jobs", get(list))
        .route("/api/staff/jobs/{id}", get(show))
        .route("/api/staff/jobs/{id}/retry", post(retry))
        .route("/api/staff/jobs/{id}/cancel", post(cancel))
}

async fn list(
    _staff: Staff,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let job_state = params.get("state");
    if let Some(s) = job_state
        && !admin::STATES.contains(&s)
    {
        return Err(ApiError::BadRequest(format!(
            "state: \"{s}\" is not one of {}",
            admin::STATES.join(", ")
        )));
    }
    let limit = params.number("limit")?.unwrap_or(100).clamp(1, 1000) as u64;
    Ok(
        Json(admin::list(state.store.db(), job_state, params.get("kind"), limit).await?)
            .into_response(),
    )
}

async fn show(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    Ok(Json(
        admin::show(state.store.db(), id)
            .await?
            .ok_or(ApiError::NotFound)?,
    )
    .into_response())
}

/// Answers with the job after the change, or 409 when its state does not allow it.
async fn act(state: &AppState, id: i64, done: bool, action: &str) -> Result<Response, ApiError> {
    let job = admin::show(state.store.db(), id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if !done {
        return Err(ApiError::Conflict(format!(
            "job {id} is {}; it cannot be {action}",
            job.state
        )));
    }
    tracing::info!(job = id, action, "job changed by staff");
    Ok(Json(job).into_response())
}

async fn retry(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let done = admin::retry(state.store.db(), id, state.now()).await?;
    act(&state, id, done, "retried").await
}

async fn cancel(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let done = admin::cancel(state.store.db(), id, state.now()).await?;
    act(&state, id, done, "canceled").await
}
