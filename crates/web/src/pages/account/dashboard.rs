//! The learner's dashboard (`/dashboard`): enrollments with their Open edX state and
//! certificates; enrolling in a free run, unenrolling, and the course-email switch.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use store::accounts::User;

use super::{current_user, message};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, certificates, render, text};

pub struct EnrollmentRow {
    pub id: i64,
    pub course_title: String,
    pub course_url: String,
    pub courseware_id: String,
    pub dates: String,
    pub mode: String,
    pub status: String,
    pub edx: String,
    pub active: bool,
    pub course_emails: bool,
}

#[derive(Template)]
#[template(path = "account/dashboard.html")]
struct Dashboard {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    user: User,
    enrollments: Vec<EnrollmentRow>,
    certificates: Vec<certificates::Shown>,
}

pub async fn dashboard(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let snapshot = state.catalog.get().await?;
    let rows = store::enrollments::of_user(state.store.db(), user.id).await?;
    let enrollments = rows
        .into_iter()
        .filter_map(|e| {
            let (course, run) = snapshot.view.run(e.run_id)?;
            let dates = match (run.window.start, run.window.end) {
                (Some(s), Some(end)) => {
                    format!("{} – {}", text::date(s), text::date(end))
                }
                (Some(s), None) => format!("From {}", text::date(s)),
                _ => "Dates to be announced".to_string(),
            };
            Some(EnrollmentRow {
                id: e.id,
                course_title: course.title.clone(),
                course_url: format!("/courses/{}/", course.readable_id),
                courseware_id: run.courseware_id.clone(),
                dates,
                mode: e.mode.clone(),
                status: if e.active {
                    "Enrolled".to_string()
                } else {
                    format!(
                        "Not enrolled ({})",
                        e.change_status.clone().unwrap_or_default()
                    )
                },
                edx: match (e.edx_enrolled, &e.edx_error, e.active) {
                    (true, _, _) => "In Open edX".to_string(),
                    (false, Some(error), _) => {
                        format!("Waiting for Open edX (last error: {error})")
                    }
                    (false, None, true) => "Waiting for Open edX".to_string(),
                    (false, None, false) => "Removed".to_string(),
                },
                active: e.active,
                course_emails: e.edx_emails_subscription,
            })
        })
        .collect();
    let certificates = store::certificates::of_user(state.store.db(), user.id)
        .await
        .unwrap_or_default()
        .iter()
        .filter(|c| !c.is_revoked)
        .filter_map(|c| certificates::shown(&snapshot.view, c, user.name.clone()))
        .collect();
    let mut meta = Meta::new(&state, "/dashboard", "Your dashboard", "Your enrollments");
    meta.signed_in = Some(user.email.clone());
    Ok(render(
        StatusCode::OK,
        &Dashboard {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            user,
            enrollments,
            certificates,
        },
    ))
}

/// Back to the dashboard after an enrollment change, or a page saying why it was refused.
fn enrollment_outcome<T>(
    state: &AppState,
    result: Result<T, services::enrollments::EnrollError>,
) -> Result<Response, PageError> {
    match result {
        Ok(_) => Ok(Redirect::to("/dashboard").into_response()),
        Err(services::enrollments::EnrollError::Db(error)) => Err(error.into()),
        Err(error) => Ok(message(
            state,
            StatusCode::BAD_REQUEST,
            "That did not work",
            error.to_string(),
            vec![("/dashboard", "Your dashboard")],
        )),
    }
}

pub async fn enroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let Some(run_id) = values.get("run_id").and_then(|v| v.parse::<i64>().ok()) else {
        return Err(PageError::bad_request(
            "The form did not name a course run.",
        ));
    };
    let snapshot = state.catalog.get().await?;
    let result = services::enrollments::enroll_free(
        &state.store,
        &snapshot.view,
        user.id,
        run_id,
        state.now(),
    )
    .await;
    enrollment_outcome(&state, result)
}

/// The dashboard's course-email switch (`receive_emails` on or off).
pub async fn course_emails(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let receive = values.get("receive_emails").map(String::as_str) == Some("on");
    let result =
        services::enrollments::set_course_emails(&state.store, user.id, id, receive, state.now())
            .await;
    enrollment_outcome(&state, result)
}

pub async fn unenroll(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin").into_response());
    };
    let result = services::enrollments::unenroll(&state.store, user.id, id, state.now()).await;
    enrollment_outcome(&state, result)
}
