//! The staff catalog API: the catalog as one JSON document. `GET /api/staff/catalog` exports
//! it; `POST /api/staff/catalog` creates or updates the courses, runs, programs,
//! requirement trees, products and prices a document holds (upsert by readable id and
//! courseware id; a changed price appends a version). A rejected document answers 400 with
//! messages per field path and writes nothing.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use domain::catalog::Catalog;

use crate::actions::save_catalog;
pub use crate::request::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/staff/catalog", get(export).post(upsert))
}

async fn export(_staff: Staff, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.catalog.get().await?.view.export()).into_response())
}

async fn upsert(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let catalog: Catalog = super::parse_body(&body)?;
    let report = save_catalog(&state, &catalog).await?;
    tracing::info!(staff = %staff.email, ?report, "catalog updated");
    Ok(Json(report).into_response())
}
