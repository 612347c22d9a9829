//! Errors of the HTTP edge and their responses, in one place: `ApiError` for the APIs,
//! `PageError` for pages, and the mapping of every service error to both. API bodies follow
//! the references: DRF's `{"detail": …}`, and field errors as
//! `{"errors": {"field": ["message"]}}` (xPRO's exception handler wraps every 400 that way).
//!
//! An unexpected error (a database failure, a peer's) is logged once, here, with its cause
//! chain, inside the request's span (which carries the request id); the visitor is told only
//! that something went wrong.

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

// Service errors at the edge: each refusal becomes the answer a peer expects, each
// database failure an unexpected error (logged once, where the response is made).

impl From<services::enrollments::ProgramError> for ApiError {
    fn from(error: services::enrollments::ProgramError) -> Self {
        use services::enrollments::ProgramError;
        match error {
            ProgramError::Db(e) => ApiError::Database(e),
            refused @ ProgramError::Paid => ApiError::BadRequest(refused.to_string()),
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
                log_unexpected(&error);
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

/// Logs an unexpected error with each of its causes; called once per failed request, at the
/// edge (inside the request's span, so the line carries the request id).
pub fn log_unexpected(error: &(dyn std::error::Error + 'static)) {
    let mut chain = error.to_string();
    let mut cause = error.source();
    while let Some(c) = cause {
        chain.push_str(": ");
        chain.push_str(&c.to_string());
        cause = c.source();
    }
    tracing::error!(error = %chain, "request failed");
}

/// Why a page could not be shown. Handlers return it with `?`; the response it becomes is
/// drawn as the site's error page by `render_page_errors`, which has the site's settings.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    /// A refusal the visitor can act on: the status and a sentence saying why.
    #[error("{1:?}")]
    Refused(StatusCode, Option<String>),
    /// Anything else: logged with its causes, shown as "something went wrong".
    #[error(transparent)]
    Unexpected(Box<dyn std::error::Error + Send + Sync>),
}

impl PageError {
    pub fn not_found(message: impl Into<String>) -> Self {
        PageError::Refused(StatusCode::NOT_FOUND, Some(message.into()))
    }

    pub fn bad_request(message: impl Into<String>) -> Self {
        PageError::Refused(StatusCode::BAD_REQUEST, Some(message.into()))
    }

    pub fn forbidden(message: impl Into<String>) -> Self {
        PageError::Refused(StatusCode::FORBIDDEN, Some(message.into()))
    }

    pub fn conflict(message: impl Into<String>) -> Self {
        PageError::Refused(StatusCode::CONFLICT, Some(message.into()))
    }

    /// Any error that is not the visitor's to fix.
    pub fn unexpected(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        PageError::Unexpected(Box::new(error))
    }
}

impl From<store::Error> for PageError {
    fn from(error: store::Error) -> Self {
        PageError::unexpected(error)
    }
}

impl From<ApiError> for PageError {
    fn from(error: ApiError) -> Self {
        match error {
            ApiError::Database(e) => PageError::unexpected(e),
            ApiError::NotFound => PageError::Refused(StatusCode::NOT_FOUND, None),
            ApiError::NotFoundBecause(m) => PageError::not_found(m),
            ApiError::BadRequest(m) => PageError::bad_request(m),
            ApiError::Forbidden(m) => PageError::forbidden(m),
            ApiError::Conflict(m) => PageError::conflict(m),
            ApiError::Invalid(errors) => PageError::bad_request(errors.to_string()),
            ApiError::Unauthorized => PageError::Refused(StatusCode::UNAUTHORIZED, None),
        }
    }
}

/// The marker a `PageError` leaves on its response for `render_page_errors`.
#[derive(Clone, Debug)]
pub struct ErrorPage {
    pub message: Option<String>,
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            PageError::Refused(status, message) => (status, message),
            PageError::Unexpected(error) => {
                log_unexpected(error.as_ref());
                (StatusCode::INTERNAL_SERVER_ERROR, None)
            }
        };
        let mut response = status.into_response();
        response.extensions_mut().insert(ErrorPage { message });
        response
    }
}

/// Draws the site's error page for a response a `PageError` became (the page needs the
/// site's settings, which an error does not carry).
pub async fn render_page_errors(
    axum::extract::State(state): axum::extract::State<crate::AppState>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let response = next.run(request).await;
    match response.extensions().get::<ErrorPage>() {
        Some(ErrorPage { message }) => {
            let mut page = crate::pages::error_page(&state, response.status(), message.clone());
            for (name, value) in response.headers() {
                if name == axum::http::header::SET_COOKIE {
                    page.headers_mut().append(name, value.clone());
                }
            }
            page
        }
        None => response,
    }
}
