//! The external vendors' report API (xPRO `ExternalCourseSyncAPIClient`, a Redash-style
//! query service) that the Emeritus and Global Alumni catalogs are read from: list the
//! queries, ask for one's results over the last day, poll the job until the result is
//! ready, read its rows. Every call carries the `api_key` query parameter.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Map, Value, json};

/// A report row: the vendor's fields by name.
pub type Row = Map<String, Value>;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("the report API is unreachable: {0}")]
    Network(String),
    #[error("the report API answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the report API answered something unexpected: {0}")]
    Malformed(String),
    #[error("no report named {0:?} is offered")]
    NoReport(Vec<String>),
    #[error("the report job {0} ended with status {1} (failed or cancelled)")]
    JobFailed(String, i64),
    #[error("the report job {0} was not ready after {1} polls")]
    NotReady(String, u32),
}

impl ReportError {
    /// Worth trying again later (the daily schedule or a retry), rather than a setup error.
    pub fn is_transient(&self) -> bool {
        match self {
            ReportError::Network(_) | ReportError::NotReady(..) | ReportError::JobFailed(..) => {
                true
            }
            ReportError::Status { status, .. } => *status >= 500 || *status == 429,
            ReportError::Malformed(_) | ReportError::NoReport(_) => false,
        }
    }
}

pub struct ReportApi {
    base: String,
    api_key: String,
    http: reqwest::Client,
    /// The wait between job polls (2 s in the reference) and how many polls to allow (two
    /// minutes: a sync stays well inside a job's lease).
    pub poll_every: Duration,
    pub max_polls: u32,
}

/// An id as it goes into a path, whether the API gave a number or a string.
fn key(id: &Value) -> String {
    match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A transport error without its URL, which carries the API key.
fn network(e: reqwest::Error) -> ReportError {
    ReportError::Network(e.without_url().to_string())
}

/// Job statuses: 1 and 2 pending or running, 3 ready, 4 failed, 5 cancelled.
const READY: i64 = 3;

#[derive(Deserialize)]
struct Job {
    id: Value,
    status: i64,
    #[serde(default)]
    query_result_id: Option<Value>,
}

impl ReportApi {
    pub fn new(base: &str, api_key: &str, timeout_secs: u64) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            api_key: api_key.to_string(),
            http: crate::http_client(timeout_secs, reqwest::redirect::Policy::none()),
            poll_every: Duration::from_secs(2),
            max_polls: 60,
        }
    }

    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Value, ReportError> {
        let response = request
            .query(&[("api_key", &self.api_key)])
            .send()
            .await
            .map_err(network)?;
        let status = response.status();
        let body = response.text().await.map_err(network)?;
        if !status.is_success() {
            return Err(ReportError::Status {
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
            });
        }
        serde_json::from_str(&body).map_err(|e| ReportError::Malformed(e.to_string()))
    }

    fn field<T: serde::de::DeserializeOwned>(
        value: &Value,
        pointer: &str,
    ) -> Result<T, ReportError> {
        value
            .pointer(pointer)
            .cloned()
            .ok_or_else(|| ReportError::Malformed(format!("no {pointer}")))
            .and_then(|v| {
                serde_json::from_value(v)
                    .map_err(|e| ReportError::Malformed(format!("{pointer}: {e}")))
            })
    }

    /// The rows of the first offered report named one of `names`, for the day up to `now`.
    pub async fn rows(&self, names: &[&str], now: DateTime<Utc>) -> Result<Vec<Row>, ReportError> {
        let queries: Vec<Row> = Self::field(
            &self
                .call(self.http.get(format!("{}/api/queries", self.base)))
                .await?,
            "/results",
        )?;
        let Some(id) = queries
            .iter()
            .find(|q| {
                q.get("name")
                    .and_then(Value::as_str)
                    .is_some_and(|n| names.contains(&n))
            })
            .and_then(|q| q.get("id").cloned())
        else {
            return Err(ReportError::NoReport(
                names.iter().map(|n| n.to_string()).collect(),
            ));
        };
        let id = key(&id);
        // The reference sends Python's str() of its datetimes: `YYYY-MM-DD HH:MM:SS.ffffff+00:00`.
        let format = "%Y-%m-%d %H:%M:%S%.6f%:z";
        let body = json!({"parameters": {"date_range": {
            "start": (now - chrono::Duration::days(1)).format(format).to_string(),
            "end": now.format(format).to_string(),
        }}});
        let mut answer = self
            .call(
                self.http
                    .post(format!("{}/api/queries/{id}/results", self.base))
                    .json(&body),
            )
            .await?;
        if answer.get("query_result").is_none() {
            let job: Job = Self::field(&answer, "/job")?;
            let job_id = key(&job.id);
            let mut polls = 0;
            let result_id = loop {
                let job: Job = Self::field(
                    &self
                        .call(self.http.get(format!("{}/api/jobs/{job_id}", self.base)))
                        .await?,
                    "/job",
                )?;
                match job.status {
                    READY => {
                        break job.query_result_id.ok_or_else(|| {
                            ReportError::Malformed("a ready job without a result".into())
                        })?;
                    }
                    4 | 5 => return Err(ReportError::JobFailed(job_id, job.status)),
                    _ if polls >= self.max_polls => {
                        return Err(ReportError::NotReady(job_id, polls));
                    }
                    _ => {
                        polls += 1;
                        tokio::time::sleep(self.poll_every).await;
                    }
                }
            };
            let result_id = key(&result_id);
            answer = self
                .call(
                    self.http
                        .get(format!("{}/api/query_results/{result_id}", self.base)),
                )
                .await?;
        }
        Self::field(&answer, "/query_result/data/rows")
    }
}
