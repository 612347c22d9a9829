//! Drive's change notifications for the request sheets (xPRO `POST /api/sheets/watch/`
//! `?sheet=enrollchange|enrollrequest|enrollassign&fileId=`): the channel must be one
//! Registrar opened on that very sheet and carry its token; a change queues the sheet's
//! run a little later, so a burst of edits (Registrar's own write-back included) makes one
//! run.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use services::sheets::Change;
use services::sheets::assignments::{self, SheetError};
use store::commerce::coupon_requests as requests;

use super::staff::Staff;
use crate::request::Params;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/sheets/watch/", post(notified))
        .route(
            "/api/sheets/process_coupon_sheet_assignment/",
            post(process_assignment_sheet),
        )
}

/// xPRO's body; its `force` is accepted and has no use here: processing an unchanged
/// sheet changes nothing, so there is no "unchanged" refusal to force past.
#[derive(Deserialize)]
struct ProcessRequest {
    sheet_identifier_type: String,
    sheet_identifier_value: String,
}

/// `POST /api/sheets/process_coupon_sheet_assignment/` (staff token): reads an assignment
/// spreadsheet, named by id or title, now; `{message, num_created, num_removed,
/// bulk_assignment_id}` as xPRO answers.
async fn process_assignment_sheet(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let asked: ProcessRequest = super::parse_body(&body)?;
    let Some(sheets) = state.settings.sheets.as_ref() else {
        return Err(ApiError::NotFoundBecause(
            "Google Sheets is not configured here.".into(),
        ));
    };
    let db = state.store.db();
    let value = asked.sheet_identifier_value.trim();
    let request = match asked.sheet_identifier_type.as_str() {
        "id" => requests::by_sheet(db, value).await?,
        "title" => requests::list(db)
            .await?
            .into_iter()
            .find(|r| r.sheet_id.is_some() && assignments::title(r) == value),
        other => {
            return Err(ApiError::BadRequest(format!(
                "sheet_identifier_type must be \"id\" or \"title\", not {other:?}."
            )));
        }
    };
    let Some(request) = request else {
        return Err(ApiError::NotFoundBecause(format!(
            "No assignment sheet is {value:?}."
        )));
    };
    let assigned = match assignments::process_sheet(
        &state.store,
        &state.settings.base_url,
        sheets,
        request.id,
    )
    .await
    {
        Ok(assigned) => assigned,
        Err(SheetError::Invalid(why)) => return Err(ApiError::BadRequest(why)),
        Err(SheetError::Google(e)) => {
            return Ok((
                StatusCode::BAD_GATEWAY,
                Json(json!({"detail": e.to_string()})),
            )
                .into_response());
        }
        Err(SheetError::Db(e)) => return Err(e.into()),
    };
    tracing::info!(staff = %staff.email, request = request.id, ?assigned, "assignment spreadsheet processed");
    Ok(Json(json!({
        "message": format!("Coupon assignment sheet processed: {}", assignments::title(&request)),
        "num_created": assigned.created,
        "num_removed": assigned.removed,
        "bulk_assignment_id": request.id,
    }))
    .into_response())
}

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
    let params = Params::parse(query.as_deref());
    let kind = params.get("sheet").unwrap_or_default().to_string();
    if !["enrollchange", "enrollrequest", "enrollassign"].contains(&kind.as_str()) {
        return Err(ApiError::BadRequest(format!(
            "Unknown sheet type {kind:?}."
        )));
    }
    let file_param = params.get("fileId").filter(|f| !f.is_empty());
    if kind == "enrollassign" && file_param.is_none() {
        return Err(ApiError::BadRequest(
            "An assignment sheet notification needs fileId.".into(),
        ));
    }
    let watched = state.settings.sheets.as_ref().and_then(|sheets| {
        let webhook = sheets.webhook.as_ref()?;
        Some((sheets, webhook))
    });
    let Some((sheets, webhook)) = watched else {
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
    let Some(file) = store::sheets::notified(db, &channel, now).await? else {
        return Err(ApiError::BadRequest(format!(
            "No open channel is {channel}."
        )));
    };
    let Some(change) = Change::of(db, sheets, &kind, file_param, &file).await? else {
        return Err(ApiError::BadRequest(format!(
            "Channel {channel} does not watch a {kind} sheet."
        )));
    };
    // The first message of a channel only says it is open.
    if header("X-Goog-Resource-State").as_deref() != Some("sync") {
        change.queue(db, now).await?;
    }
    Ok(StatusCode::OK.into_response())
}
