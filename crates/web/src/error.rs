//! Errors of the HTTP edge and their responses, in one place. Bodies follow the references:
//! DRF's `{"detail": …}`, and field errors as `{"errors": {"field": ["message"]}}` (xPRO's
//! exception handler wraps every 400 that way).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use domain::catalog::validate::FieldErrors;
use serde_json::json;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("not found")]
    NotFound,
    /// Not found, saying what was looked for.
    #[error("{0}")]
    NotFoundBecause(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid: {0}")]
    Invalid(FieldErrors),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("authentication credentials were not provided or are invalid")]
    Unauthorized,
    #[error("database: {0}")]
    Database(#[from] store::Error),
}

impl From<store::catalog::write::ApplyError> for ApiError {
    fn from(error: store::catalog::write::ApplyError) -> Self {
        match error {
            store::catalog::write::ApplyError::Invalid(errors) => ApiError::Invalid(errors),
            store::catalog::write::ApplyError::Db(e) => ApiError::Database(e),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::NotFound => (StatusCode::NOT_FOUND, Json(json!({"detail": "Not found."}))).into_response(),
            ApiError::NotFoundBecause(message) => (StatusCode::NOT_FOUND, Json(json!({"detail": message}))).into_response(),
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, Json(json!({"detail": message}))).into_response(),
            ApiError::Forbidden(message) => (StatusCode::FORBIDDEN, Json(json!({"detail": message}))).into_response(),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, Json(json!({"detail": message}))).into_response(),
            ApiError::Invalid(errors) => (StatusCode::BAD_REQUEST, Json(json!({"errors": errors}))).into_response(),
            ApiError::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                [(axum::http::header::WWW_AUTHENTICATE, "Bearer")],
                Json(json!({"detail": "Authentication credentials were not provided or are invalid."})),
            )
                .into_response(),
            ApiError::Database(error) => {
                tracing::error!(%error, "database error");
                (StatusCode::INTERNAL_SERVER_ERROR, Json(json!({"detail": "Internal server error."}))).into_response()
            }
        }
    }
}

/// Unknown paths: JSON under `/api/`, a page elsewhere.
pub async fn not_found(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    uri: axum::http::Uri,
) -> Response {
    if uri.path().starts_with("/api/") {
        ApiError::NotFound.into_response()
    } else {
        crate::pages::error_page(&state, StatusCode::NOT_FOUND, None)
    }
}
