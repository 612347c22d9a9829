//! edX's course grades API (`GET /api/grades/v1/courses/{course_id}/`, service token, paged
//! with `next`), and a control to set a learner's grade as an instructor's grading would.

use std::sync::Arc;

use axum::extract::{Form, OriginalUri, Path, Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Json, Redirect, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{OpenEdx, guard};

/// Learners per page when the caller does not ask (edX pages its grade lists).
const PAGE_SIZE: usize = 10;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SimGrade {
    pub username: String,
    pub course_id: String,
    pub percent: f64,
    pub passed: bool,
    #[serde(default)]
    pub letter_grade: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Paging {
    page: Option<usize>,
    page_size: Option<usize>,
    username: Option<String>,
}

pub(super) async fn course_grades(
    State(state): State<Arc<OpenEdx>>,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    Path(course_id): Path<String>,
    Query(paging): Query<Paging>,
) -> Response {
    if let Some(refused) = guard(&state, &headers, "GET /api/grades/v1/courses/").await {
        return refused;
    }
    let all: Vec<SimGrade> = state
        .grades
        .lock()
        .expect("simulator lock")
        .iter()
        .filter(|((course, user), _)| {
            *course == course_id && paging.username.as_ref().is_none_or(|u| u == user)
        })
        .map(|(_, g)| g.clone())
        .collect();
    let size = paging.page_size.unwrap_or(PAGE_SIZE).clamp(1, 100);
    let page = paging.page.unwrap_or(1).max(1);
    let results: Vec<&SimGrade> = all.iter().skip((page - 1) * size).take(size).collect();
    // edX links the next page absolutely, at the address it was asked on.
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let next = (page * size < all.len()).then(|| {
        format!(
            "http://{host}{}?page={}&page_size={size}",
            uri.path(),
            page + 1
        )
    });
    Json(json!({"next": next, "previous": null, "results": results})).into_response()
}

/// `POST /_grades` (form or JSON fields of a grade): sets one learner's grade; a passing
/// one also sends the certificate webhook.
pub(super) async fn set_grade(
    State(state): State<Arc<OpenEdx>>,
    OriginalUri(uri): OriginalUri,
    Form(grade): Form<SimGrade>,
) -> Response {
    let earned = grade
        .passed
        .then(|| (grade.username.clone(), grade.course_id.clone()));
    state.set_grade(grade);
    // edX issues a certificate to a passing learner and says so.
    if let Some((username, course_id)) = earned {
        state.certificate_earned(&username, &course_id).await;
    }
    let page = uri.path().trim_end_matches("/_grades").to_string();
    Redirect::to(if page.is_empty() { "/" } else { &page }).into_response()
}

impl OpenEdx {
    pub fn set_grade(&self, grade: SimGrade) {
        self.grades
            .lock()
            .expect("simulator lock")
            .insert((grade.course_id.clone(), grade.username.clone()), grade);
    }
}
