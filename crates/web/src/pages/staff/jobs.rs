//! Jobs and data flows (`/staff/jobs/`): each flow's route, schedules, queue, dead jobs
//! and last success or error; the recent jobs, which staff may retry or cancel.

use askama::Template;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};

use super::{StaffMember, meta, same_origin};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render, text};

pub struct FlowRow {
    pub id: &'static str,
    pub label: &'static str,
    pub route: String,
    pub enabled: &'static str,
    pub schedules: String,
    pub queue: i64,
    pub dead: i64,
    pub last_success: String,
    pub last_error: String,
}

pub struct JobRow {
    pub id: i64,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub run_at: String,
    pub last_error: String,
}

#[derive(Template)]
#[template(path = "staff/jobs.html")]
struct JobsPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    flows: Vec<FlowRow>,
    jobs: Vec<JobRow>,
}

pub async fn jobs_page(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let mut flows = Vec::new();
    for flow in services::flows::all() {
        let (mut queue, mut dead, mut last_success, mut last_error) = (0, 0, None, None);
        for kind in flow.job_kinds {
            let stats = jobs::admin::kind_stats(db, kind).await?;
            queue += stats.queue_depth;
            dead += stats.dead;
            last_success = last_success.max(stats.last_success);
            last_error = last_error.or(stats.last_error);
        }
        let schedules = state
            .settings
            .schedules
            .iter()
            .filter(|d| flow.schedules.contains(&d.schedule.name))
            .map(|d| format!("{}: {}", d.schedule.name, d.schedule.cadence.describe()))
            .collect::<Vec<_>>()
            .join(", ");
        flows.push(FlowRow {
            id: flow.id,
            label: flow.label,
            route: format!("{} → {}", flow.source.name, flow.target.name),
            enabled: if services::flows::enabled(&flow, &state.settings.schedules) {
                "yes"
            } else {
                "no"
            },
            schedules,
            queue,
            dead,
            last_success: last_success.map(text::date).unwrap_or_default(),
            last_error: last_error.unwrap_or_default(),
        });
    }
    let recent = jobs::admin::list(db, None, None, 50).await?;
    let jobs = recent
        .into_iter()
        .map(|j| JobRow {
            id: j.id,
            kind: j.kind,
            state: j.state,
            attempts: j.attempts,
            max_attempts: j.max_attempts,
            run_at: j.run_at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
            last_error: j.last_error.unwrap_or_default(),
        })
        .collect();
    Ok(render(
        StatusCode::OK,
        &JobsPage {
            meta: meta(
                &state,
                "/staff/jobs/",
                "Jobs and data flows",
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            flows,
            jobs,
        },
    ))
}

pub async fn job_action(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    headers: HeaderMap,
    Path((id, action)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    if !same_origin(&headers) {
        return Err(PageError::Refused(StatusCode::FORBIDDEN, None));
    }
    let changed = match action.as_str() {
        "retry" => jobs::admin::retry(state.store.db(), id, state.now()).await?,
        "cancel" => jobs::admin::cancel(state.store.db(), id, state.now()).await?,
        _ => return Err(PageError::Refused(StatusCode::NOT_FOUND, None)),
    };
    if !changed {
        return Err(PageError::conflict(format!(
            "Job {id} cannot be {action}ed in its current state."
        )));
    }
    tracing::info!(staff = %who, job = id, %action, "job changed from the staff area");
    Ok(Redirect::to("/staff/jobs/").into_response())
}
