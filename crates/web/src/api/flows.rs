//! `/api/staff/flows`: each cross-system flow with how it is doing, from the flow registry
//! and the jobs that carry it.

use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Serialize;
use services::flows::{self, Flow};

use super::staff::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/staff/flows", get(list))
}

#[derive(Serialize)]
struct ScheduleState {
    name: &'static str,
    cadence: String,
}

#[derive(Serialize)]
struct FlowState {
    #[serde(flatten)]
    flow: Flow,
    enabled: bool,
    schedule_states: Vec<ScheduleState>,
    last_run: Option<DateTime<Utc>>,
    last_success: Option<DateTime<Utc>>,
    last_error: Option<String>,
    queue_depth: i64,
    running: i64,
    dead: i64,
}

async fn list(_staff: Staff, State(state): State<AppState>) -> Result<Response, ApiError> {
    let schedules = &state.settings.schedules;
    let mut out = Vec::new();
    for flow in flows::all() {
        let mut row = FlowState {
            enabled: flows::enabled(&flow, schedules),
            schedule_states: schedules
                .iter()
                .filter(|d| flow.schedules.contains(&d.schedule.name))
                .map(|d| ScheduleState {
                    name: d.schedule.name,
                    cadence: d.schedule.cadence.describe(),
                })
                .collect(),
            last_run: None,
            last_success: None,
            last_error: None,
            queue_depth: 0,
            running: 0,
            dead: 0,
            flow,
        };
        for kind in row.flow.job_kinds {
            let stats = jobs::admin::kind_stats(state.store.db(), kind).await?;
            row.queue_depth += stats.queue_depth;
            row.running += stats.running;
            row.dead += stats.dead;
            row.last_run = row.last_run.max(stats.last_run);
            if stats.last_success > row.last_success {
                row.last_success = stats.last_success;
            }
            if row.last_error.is_none() {
                row.last_error = stats.last_error;
            }
        }
        out.push(row);
    }
    Ok(Json(out).into_response())
}
