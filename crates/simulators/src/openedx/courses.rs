//! edX's course API (`GET /api/courses/v1/courses/?course_keys=…`, service token), answering
//! for the course runs set on the simulator (the demo registers its catalog's runs).

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Json, Response};
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

impl OpenEdx {
    /// Sets what edX says of a course run.
    pub fn set_course(&self, course: SimCourse) {
        self.courses
            .lock()
            .expect("simulator lock")
            .insert(course.id.clone(), course);
    }
}
