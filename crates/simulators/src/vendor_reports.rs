//! The vendors' report API (a Redash-style query service): the queries it offers, a job per
//! results request that is ready after a few polls, and the rows set on it. The demo fills
//! the Emeritus ("Batch") and Global Alumni ("GA - Batch") reports with sample courses.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

pub const API_KEY: &str = "registrar-demo-reports-key";

#[derive(Default)]
pub struct VendorReports {
    /// Rows by report name; a report's query id is its place in name order, from 1.
    reports: Mutex<BTreeMap<String, Vec<Map<String, Value>>>>,
    /// Per job: polls left before it is ready, and its report.
    jobs: Mutex<Vec<(u32, String)>>,
    /// Polls a job takes before it is ready (0: results are answered at once).
    polls_before_ready: u32,
}

impl VendorReports {
    pub fn new(polls_before_ready: u32) -> Self {
        Self {
            polls_before_ready,
            ..Self::default()
        }
    }

    pub fn set_report(&self, name: &str, rows: Vec<Map<String, Value>>) {
        self.reports
            .lock()
            .expect("simulator lock")
            .insert(name.to_string(), rows);
    }

    fn rows_of(&self, name: &str) -> Value {
        json!(
            self.reports
                .lock()
                .expect("simulator lock")
                .get(name)
                .cloned()
                .unwrap_or_default()
        )
    }
}

#[derive(Deserialize)]
struct Key {
    #[serde(default)]
    api_key: String,
}

fn refused(key: &Key) -> Option<Response> {
    (key.api_key != API_KEY).then(|| {
        (
            StatusCode::FORBIDDEN,
            Json(json!({"message": "Couldn't find resource. Please login and try again."})),
        )
            .into_response()
    })
}

fn result(id: usize, rows: Value) -> Value {
    json!({"query_result": {"id": id, "data": {"columns": [], "rows": rows}}})
}

async fn queries(State(state): State<Arc<VendorReports>>, Query(key): Query<Key>) -> Response {
    if let Some(refused) = refused(&key) {
        return refused;
    }
    let names: Vec<Value> = state
        .reports
        .lock()
        .expect("simulator lock")
        .keys()
        .enumerate()
        .map(|(i, name)| json!({"id": i + 1, "name": name}))
        .collect();
    Json(json!({"count": names.len(), "results": names})).into_response()
}

fn report_name(state: &VendorReports, id: usize) -> Option<String> {
    let reports = state.reports.lock().expect("simulator lock");
    reports.keys().nth(id.checked_sub(1)?).cloned()
}

async fn run_query(
    State(state): State<Arc<VendorReports>>,
    Path(id): Path<usize>,
    Query(key): Query<Key>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(refused) = refused(&key) {
        return refused;
    }
    let Some(name) = report_name(&state, id) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Query not found"})),
        )
            .into_response();
    };
    if body.pointer("/parameters/date_range/start").is_none() {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": "Missing parameter value for: date_range"})),
        )
            .into_response();
    }
    if state.polls_before_ready == 0 {
        return Json(result(id, state.rows_of(&name))).into_response();
    }
    let mut jobs = state.jobs.lock().expect("simulator lock");
    jobs.push((state.polls_before_ready, name));
    Json(json!({"job": {"id": format!("job-{}", jobs.len()), "status": 1}})).into_response()
}

async fn job(
    State(state): State<Arc<VendorReports>>,
    Path(id): Path<String>,
    Query(key): Query<Key>,
) -> Response {
    if let Some(refused) = refused(&key) {
        return refused;
    }
    let index = id
        .strip_prefix("job-")
        .and_then(|n| n.parse::<usize>().ok());
    let mut jobs = state.jobs.lock().expect("simulator lock");
    let Some((left, _)) = index.and_then(|i| jobs.get_mut(i.checked_sub(1)?)) else {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Job not found"})),
        )
            .into_response();
    };
    *left = left.saturating_sub(1);
    let job = if *left == 0 {
        json!({"id": id, "status": 3, "query_result_id": index})
    } else {
        json!({"id": id, "status": 2, "query_result_id": null})
    };
    Json(json!({"job": job})).into_response()
}

async fn query_result(
    State(state): State<Arc<VendorReports>>,
    Path(id): Path<usize>,
    Query(key): Query<Key>,
) -> Response {
    if let Some(refused) = refused(&key) {
        return refused;
    }
    let name = state
        .jobs
        .lock()
        .expect("simulator lock")
        .get(id.saturating_sub(1))
        .map(|(_, name)| name.clone());
    match name {
        Some(name) => Json(result(id, state.rows_of(&name))).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Query result not found"})),
        )
            .into_response(),
    }
}

pub fn router(state: Arc<VendorReports>) -> Router {
    Router::new()
        .route("/api/queries", get(queries))
        .route("/api/queries/{id}/results", post(run_query))
        .route("/api/jobs/{id}", get(job))
        .route("/api/query_results/{id}", get(query_result))
        .with_state(state)
}

/// A report row as the vendors send it.
#[allow(clippy::too_many_arguments)]
pub fn row(
    title: &str,
    course_code: &str,
    run_code: &str,
    price: Option<&str>,
    start: DateTime<Utc>,
    weeks: i64,
    category: &str,
    ceu: &str,
) -> Map<String, Value> {
    let day = |d: DateTime<Utc>| d.format("%Y-%m-%d").to_string();
    let Value::Object(row) = json!({
        "program_name": format!(" {title} "),
        "course_title": title,
        "course_code": course_code,
        "course_run_code": run_code,
        "list_price": price,
        "list_currency": "USD",
        "start_date": day(start),
        "end_date": day(start + Duration::weeks(weeks)),
        "landing_page_url": format!("https://vendor.example.com/{}/?utm_source=xpro", course_code.to_lowercase()),
        "total_weeks": weeks,
        "language": "English",
        "description": format!("{title}: a programme delivered with our partner."),
        "format": "Online",
        "Category": category,
        "image_name": format!("{course_code}.jpg"),
        "ceu": ceu,
        "learning_outcomes": "This course will help you:\r\n● Frame problems\r\n● Lead change",
        "program_for": "This course is for:\r\n● Managers\r\n● Engineers",
    }) else {
        unreachable!("a JSON object literal")
    };
    row
}

/// The demo's sample reports, starting a few weeks after `now`.
pub fn sample(state: &VendorReports, now: DateTime<Utc>) {
    let start = now + Duration::weeks(4);
    let tag = |n: u32| format!("{}#{n}", start.format("%y-%m"));
    state.set_report(
        "Batch",
        vec![
            row(
                "Data Science and Big Data Analytics",
                "MXP-DSBDA",
                &format!("MXP-DSBDA-{}", tag(1)),
                Some("2850"),
                start,
                10,
                "Technology",
                "3.6",
            ),
            row(
                "Product Design and Development",
                "MXP-PDD.ONL",
                &format!("MXP-PDD.ONL-{}", tag(1)),
                Some("3150"),
                start + Duration::weeks(2),
                8,
                "Engineering",
                "2.4",
            ),
        ],
    );
    state.set_report(
        "GA - Batch",
        vec![row(
            "Leading Digital Transformation",
            "MO-LDT",
            &format!("MO-LDT-{}", tag(2)),
            Some("2500"),
            start,
            6,
            "Business",
            "",
        )],
    );
}
