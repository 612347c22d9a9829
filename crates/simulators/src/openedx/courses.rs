//! edX's course API (`GET /api/courses/v1/courses/?course_keys=…`, service token) and course
//! modes API (`/api/course_modes/v1/courses/{id}/`), answering for the course runs set on the
//! simulator (the demo registers its catalog's runs and their modes).

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use integrations::openedx::EdxCourseMode;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{OpenEdx, guard};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimCourse {
    pub id: String,
    pub name: String,
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    pub end: Option<chrono::DateTime<chrono::Utc>>,
    pub enrollment_start: Option<chrono::DateTime<chrono::Utc>>,
    pub enrollment_end: Option<chrono::DateTime<chrono::Utc>>,
    /// `self` or `instructor`.
    pub pacing: String,
    pub certificate_available_date: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Deserialize)]
pub(super) struct Keys {
    #[serde(default)]
    course_keys: String,
}

pub(super) async fn courses(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Query(keys): Query<Keys>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, "GET /api/courses/v1/courses/").await {
        return refused;
    }
    let known = state.courses.lock().expect("simulator lock");
    let results: Vec<&SimCourse> = keys
        .course_keys
        .split(',')
        .filter_map(|key| known.get(key.trim()))
        .collect();
    Json(json!({
        "results": results,
        "pagination": {"next": null, "previous": null, "count": results.len(), "num_pages": 1},
    }))
    .into_response()
}

fn mode_answer(status: StatusCode, body: serde_json::Value) -> Response {
    (status, Json(body)).into_response()
}

/// The service token, then the run: edX answers 404 for a run it does not have.
async fn modes_guard(
    state: &OpenEdx,
    headers: &HeaderMap,
    method: &str,
    course_id: &str,
) -> Option<Response> {
    if let Some(refused) = guard(
        state,
        headers,
        &format!("{method} /api/course_modes/v1/courses/"),
    )
    .await
    {
        return Some(refused);
    }
    let known = state
        .courses
        .lock()
        .expect("simulator lock")
        .contains_key(course_id);
    (!known).then(|| mode_answer(StatusCode::NOT_FOUND, json!({"detail": "Not found."})))
}

/// `GET /api/course_modes/v1/courses/{id}/`: the run's modes; 404 for a run edX lacks.
pub(super) async fn course_modes(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Path(course_id): Path<String>,
) -> Response {
    if let Some(refused) = modes_guard(&state, &headers, "GET", &course_id).await {
        return refused;
    }
    let modes = state.course_modes(&course_id);
    mode_answer(StatusCode::OK, json!(modes))
}

/// `POST /api/course_modes/v1/courses/{id}/`: adds a mode (400 when the run has it).
pub(super) async fn create_course_mode(
    State(state): State<Arc<OpenEdx>>,
    headers: HeaderMap,
    Path(course_id): Path<String>,
    Json(mode): Json<EdxCourseMode>,
) -> Response {
    if let Some(refused) = modes_guard(&state, &headers, "POST", &course_id).await {
        return refused;
    }
    let mut modes = state.modes.lock().expect("simulator lock");
    let of_run = modes.entry(course_id).or_default();
    if of_run.iter().any(|m| m.mode_slug == mode.mode_slug) {
        return mode_answer(
            StatusCode::BAD_REQUEST,
            json!({"non_field_errors": ["The fields course_id, mode_slug, currency must make a unique set."]}),
        );
    }
    of_run.push(mode.clone());
    mode_answer(StatusCode::CREATED, json!(mode))
}

impl SimCourse {
    /// A run as edX would describe it: our courseware id, a name, its dates and pacing.
    pub fn of(
        id: &str,
        name: &str,
        window: &domain::catalog::RunWindow,
        self_paced: bool,
        certificate_available_date: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Self {
        SimCourse {
            id: id.to_string(),
            name: name.to_string(),
            start: window.start,
            end: window.end,
            enrollment_start: window.enrollment_start,
            enrollment_end: window.enrollment_end,
            pacing: if self_paced { "self" } else { "instructor" }.to_string(),
            certificate_available_date,
        }
    }
}

impl OpenEdx {
    /// The course modes edX holds for a run.
    pub fn course_modes(&self, course_id: &str) -> Vec<EdxCourseMode> {
        self.modes
            .lock()
            .expect("simulator lock")
            .get(course_id)
            .cloned()
            .unwrap_or_default()
    }

    /// Sets the course modes edX holds for a run.
    pub fn set_course_modes(&self, course_id: &str, modes: Vec<EdxCourseMode>) {
        self.modes
            .lock()
            .expect("simulator lock")
            .insert(course_id.to_string(), modes);
    }

    /// Sets what edX says of a course run.
    pub fn set_course(&self, course: SimCourse) {
        self.courses
            .lock()
            .expect("simulator lock")
            .insert(course.id.clone(), course);
    }
}
