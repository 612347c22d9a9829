//! Drive's change notifications for the request sheets (xPRO `POST /api/sheets/watch/`):
//! the channel must be one Registrar opened and carry its token; a change queues a sheet
//! run a few seconds later, so a burst of edits (Registrar's own write-back included) makes
//! one run.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;

use crate::api::Params;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/sheets/watch/", post(notified))
}

/// Seconds a notification waits for others to join it.
const DEBOUNCE_SECONDS: i64 = 10;

async fn notified(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let Some(channel) = header("X-Goog-Channel-ID") else {
        return Err(ApiError::BadRequest(
            "The X-Goog-Channel-ID header is missing.".into(),
        ));
    };
    let sheet = Params::parse(query.as_deref())
        .get("sheet")
        .unwrap_or_default()
        .to_string();
    if sheet != "enrollchange" {
        return Err(ApiError::BadRequest(format!(
            "Unknown sheet type {sheet:?}."
        )));
    }
    let Some(webhook) = state
        .settings
        .sheets
        .as_ref()
        .and_then(|s| s.webhook.as_ref())
    else {
        return Err(ApiError::NotFoundBecause(
            "No sheets are watched here.".into(),
        ));
    };
    let token = header("X-Goog-Channel-Token").unwrap_or_default();
    if !crate::csrf::constant_time_eq(token.as_bytes(), webhook.token.as_bytes()) {
        return Err(ApiError::Forbidden(
            "The channel token does not match.".into(),
        ));
    }
    let db = state.store.db();
    let now = state.now();
    if store::sheets::notified(db, &channel, now).await?.is_none() {
        return Err(ApiError::BadRequest(format!(
            "No open channel is {channel}."
        )));
    }
    // The first message of a channel only says it is open.
    if header("X-Goog-Resource-State").as_deref() != Some("sync") {
        services::sheets::ProcessSheets::soon(db, now, chrono::Duration::seconds(DEBOUNCE_SECONDS))
            .await?;
    }
    Ok(StatusCode::OK.into_response())
}
