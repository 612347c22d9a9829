//! The signed-in learner's programs and certificates. MITx Online v3
//! `/api/v3/program_enrollments/` (list, enroll in a live program's audit track, one, and
//! unenroll), each with the program certificate; xPRO's own certificate lists
//! `/api/course_run_certificates/` and `/api/program_certificates/` (valid ones, `{uuid, link}`).

use axum::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use store::catalog::read::CatalogView;
use store::certificates::{Certificate, Of};
use store::enrollments::ProgramEnrollment;

use crate::request::current_user;
use crate::request::learner_with_csrf;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v3/program_enrollments/", get(list).post(enroll))
        .route(
            "/api/v3/program_enrollments/{program_id}/",
            get(one).delete(unenroll),
        )
        .route("/api/course_run_certificates/", get(run_certificates))
        .route("/api/course_run_certificates/{uuid}/", get(run_certificate))
        .route("/api/program_certificates/", get(program_certificates))
        .route(
            "/api/program_certificates/{uuid}/",
            get(program_certificate),
        )
}

/// `{uuid, link}` as both references give a certificate.
pub(crate) fn certificate_json(certificate: &Certificate) -> Value {
    let link = match certificate.of {
        Of::Run(_) => format!("/certificate/{}/", certificate.uuid),
        Of::Program(_) => format!("/certificate/program/{}/", certificate.uuid),
    };
    json!({"uuid": certificate.uuid, "link": link})
}

/// The learner's valid certificates.
async fn valid_certificates(state: &AppState, user_id: i64) -> Result<Vec<Certificate>, ApiError> {
    Ok(store::certificates::of_user(state.store.db(), user_id)
        .await?
        .into_iter()
        .filter(|c| !c.is_revoked)
        .collect())
}

/// `V3UserProgramEnrollment`: `{program, certificate, enrollment_mode}`.
fn v3(view: &CatalogView, certificates: &[Certificate], e: &ProgramEnrollment) -> Option<Value> {
    let program = view.program(e.program_id)?;
    let certificate = certificates
        .iter()
        .find(|c| c.of == Of::Program(e.program_id))
        .map_or(Value::Null, certificate_json);
    Some(json!({
        "program": {
            "title": program.title,
            "readable_id": program.readable_id,
            "id": program.id,
            "program_type": program.program_type,
            "live": program.live,
            "display_mode": program.display_mode,
        },
        "certificate": certificate,
        "enrollment_mode": e.mode,
    }))
}

/// The learner's active program enrollments in the v3 shape, and the learner.
async fn enrollments(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<(i64, Vec<(i64, Value)>), ApiError> {
    let user = current_user(state, headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let snapshot = state.catalog.get().await?;
    let certificates = valid_certificates(state, user.id).await?;
    let shaped = store::enrollments::program_enrollments_of(state.store.db(), user.id)
        .await?
        .iter()
        .filter(|e| e.active)
        .filter_map(|e| Some((e.program_id, v3(&snapshot.view, &certificates, e)?)))
        .collect();
    Ok((user.id, shaped))
}

async fn list(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let (_, shaped) = enrollments(&state, &headers).await?;
    let items: Vec<Value> = shaped.into_iter().map(|(_, v)| v).collect();
    Ok(Json(items).into_response())
}

async fn one(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(program_id): Path<i64>,
) -> Result<Response, ApiError> {
    let (_, shaped) = enrollments(&state, &headers).await?;
    shaped
        .into_iter()
        .find(|(id, _)| *id == program_id)
        .map(|(_, v)| Json(v).into_response())
        .ok_or(ApiError::NotFoundBecause(
            "You are not enrolled in this program.".into(),
        ))
}

#[derive(Deserialize)]
struct Enroll {
    program_id: i64,
}

/// Enrolls in a live program's audit track: 201, or 200 when already enrolled.
async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let request: Enroll = super::parse_body(&body)?;
    let snapshot = state.catalog.get().await?;
    if !snapshot
        .view
        .program(request.program_id)
        .is_some_and(|p| p.live && p.site == domain::catalog::Site::Mitxonline)
    {
        return Err(ApiError::NotFoundBecause(
            "There is no live MITx Online program with this id.".into(),
        ));
    }
    let created = services::enrollments::enroll_in_program(
        &state.store,
        user.id,
        request.program_id,
        state.now(),
    )
    .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let (_, shaped) = enrollments(&state, &headers).await?;
    let item = shaped
        .into_iter()
        .find(|(id, _)| *id == request.program_id)
        .map(|(_, v)| v)
        .unwrap_or(Value::Null);
    Ok((status, Json(item)).into_response())
}

/// Leaves a program: 204 (also when not enrolled); 400 for a bought program, which is left
/// through a refund.
async fn unenroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(program_id): Path<i64>,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    if state
        .catalog
        .get()
        .await?
        .view
        .program(program_id)
        .is_none()
    {
        return Err(ApiError::NotFoundBecause(
            "There is no such program.".into(),
        ));
    }
    services::enrollments::leave_program(&state.store, user.id, program_id, state.now()).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The caller's valid certificates of runs (`program` false) or of programs.
async fn certificates_of(
    state: &AppState,
    headers: &HeaderMap,
    program: bool,
) -> Result<Vec<Certificate>, ApiError> {
    let user = current_user(state, headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    Ok(valid_certificates(state, user.id)
        .await?
        .into_iter()
        .filter(|c| matches!(c.of, Of::Program(_)) == program)
        .collect())
}

async fn listed(
    state: &AppState,
    headers: &HeaderMap,
    program: bool,
) -> Result<Response, ApiError> {
    let items: Vec<Value> = certificates_of(state, headers, program)
        .await?
        .iter()
        .map(certificate_json)
        .collect();
    Ok(Json(items).into_response())
}

async fn found(
    state: &AppState,
    headers: &HeaderMap,
    program: bool,
    uuid: &str,
) -> Result<Response, ApiError> {
    certificates_of(state, headers, program)
        .await?
        .iter()
        .find(|c| c.uuid == uuid)
        .map(|c| Json(certificate_json(c)).into_response())
        .ok_or(ApiError::NotFound)
}

async fn run_certificates(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listed(&state, &headers, false).await
}

async fn program_certificates(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    listed(&state, &headers, true).await
}

async fn run_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    found(&state, &headers, false, &uuid).await
}

async fn program_certificate(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(uuid): Path<String>,
) -> Result<Response, ApiError> {
    found(&state, &headers, true, &uuid).await
}
