//! What Open edX tells Registrar (MITx Online `openedx/views.py`): an enrollment made in
//! edX, mirrored here; a certificate earned in edX, which queues that learner's grade to be
//! pulled and applied without waiting for the certificate date. Both take a bearer token
//! Registrar's OAuth2 provider issued to a staff account, and are idempotent.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use store::accounts::User;

use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/openedx_webhook/enrollment/", post(enrollment))
        .route("/api/openedx_webhook/certificate/", post(certificate))
}

/// The staff account behind the request's bearer token.
async fn staff_caller(state: &AppState, headers: &HeaderMap) -> Result<User, ApiError> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(ApiError::Unauthorized)?;
    let db = state.store.db();
    let user = match store::oauth2::token_user(db, token.trim(), state.now()).await? {
        Some(id) => store::accounts::find(db, id).await?,
        None => None,
    }
    .filter(|u| u.is_active)
    .ok_or(ApiError::Unauthorized)?;
    if !user.is_staff {
        return Err(ApiError::Forbidden(
            "Only a staff account's token may call the Open edX webhooks.".into(),
        ));
    }
    Ok(user)
}

#[derive(Deserialize)]
struct Event {
    #[serde(default)]
    email: String,
    #[serde(default)]
    course_id: String,
}

/// The learner and run an event names: 400 when a field is missing, 404 when either is unknown.
async fn resolve(state: &AppState, body: &[u8]) -> Result<(User, i64), ApiError> {
    let event: Event = super::parse_body(body)?;
    let (email, course_id) = (event.email.trim(), event.course_id.trim());
    if email.is_empty() || course_id.is_empty() {
        return Err(ApiError::BadRequest(
            "email and course_id are required.".into(),
        ));
    }
    let db = state.store.db();
    let user = match domain::accounts::Email::parse(email) {
        Ok(address) => store::accounts::find_by_email(db, &address).await?,
        Err(_) => None,
    }
    .ok_or_else(|| ApiError::NotFoundBecause(format!("No user has the email {email}.")))?;
    let snapshot = state.catalog.get().await?;
    let (_, run) = snapshot
        .view
        .run_by_courseware_id(course_id)
        .ok_or_else(|| ApiError::NotFoundBecause(format!("No course run is {course_id}.")))?;
    Ok((user, run.id))
}

/// `{email, course_id, role?}` → 201 when the enrollment was created, 200 when it was there.
async fn enrollment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = staff_caller(&state, &headers).await?;
    let (user, run_id) = resolve(&state, &body).await?;
    let (enrollment, created) =
        services::enrollments::mirror(&state.store, user.id, run_id, state.now()).await?;
    tracing::info!(caller = %caller.email, user = user.id, run = run_id, created, "enrollment mirrored from Open edX");
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({
            "message": if created { "Enrollment created." } else { "Enrollment already exists." },
            "enrollment_id": enrollment.id,
            "active": enrollment.active,
            "edx_enrolled": enrollment.edx_enrolled,
        })),
    )
        .into_response())
}

/// `{email, course_id}` → 200: the certificate exists, or the learner's grade is queued.
async fn certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let caller = staff_caller(&state, &headers).await?;
    let (user, run_id) = resolve(&state, &body).await?;
    let existing =
        services::certificates::edx_certificate_earned(&state.store, user.id, run_id).await?;
    if let Some(certificate) = existing {
        return Ok(Json(json!({
            "message": "Certificate already exists.",
            "certificate": certificate.uuid,
        }))
        .into_response());
    }
    tracing::info!(caller = %caller.email, user = user.id, run = run_id, "certificate requested by Open edX");
    Ok(Json(json!({"message": "The learner's grade will be checked and the certificate issued if earned."})).into_response())
}
