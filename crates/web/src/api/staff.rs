//! The staff catalog API: the catalog as one JSON document. `GET /api/staff/catalog` exports
//! it; `POST /api/staff/catalog` creates or updates the courses, runs, programs,
//! requirement trees, products and prices a document holds (upsert by readable id and
//! courseware id; a changed price appends a version). A rejected document answers 400 with
//! messages per field path and writes nothing.

use axum::Router;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use domain::catalog::Catalog;
use store::catalog::write::Mode;

use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/staff/catalog", get(export).post(upsert))
}

/// A request carrying a valid staff token (`Authorization: Bearer <token>`).
pub struct Staff {
    pub email: String,
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or(ApiError::Unauthorized)?;
        store::staff::authenticate(state.store.db(), token.trim())
            .await?
            .map(|email| Staff { email })
            .ok_or(ApiError::Unauthorized)
    }
}

async fn export(_staff: Staff, State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(Json(state.catalog.get().await?.view.export()).into_response())
}

/// Writes catalog records (staff edits, the staff API): one transaction, which also queues
/// the CRM's product sweep; every process's cached catalog is refreshed.
pub(crate) async fn save_catalog(
    state: &AppState,
    catalog: &Catalog,
) -> Result<store::catalog::write::Report, store::catalog::write::ApplyError> {
    let report = services::catalog::save(&state.store, catalog, Mode::Strict, state.now()).await?;
    state.catalog.invalidate();
    Ok(report)
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
