//! HubSpot's CRM API (v3 objects, v4 associations) with a private-app token: batch upserts
//! keyed by a unique property (`email` for contacts, `unique_app_id` for Registrar's own
//! objects) and default associations. A 429 is waited out as its `Retry-After` asks (a few
//! times, briefly) before the caller is told to come back later.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Map, Value, json};

/// HubSpot takes at most this many inputs per batch call.
pub const BATCH_LIMIT: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum HubSpotError {
    #[error("HubSpot is unreachable: {0}")]
    Network(String),
    #[error("HubSpot is rate limiting; try again in {0:?}")]
    RateLimited(Duration),
    #[error("HubSpot answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("HubSpot answered something unexpected: {0}")]
    Malformed(String),
}

impl HubSpotError {
    pub fn is_transient(&self) -> bool {
        match self {
            HubSpotError::Network(_) | HubSpotError::RateLimited(_) => true,
            HubSpotError::Status { status, .. } => *status >= 500,
            HubSpotError::Malformed(_) => false,
        }
    }
}

pub struct HubSpot {
    base: String,
    token: String,
    http: reqwest::Client,
    /// Waits for a 429 longer than this are left to the caller's retry.
    pub max_wait: Duration,
    pub max_waits: u32,
}

/// One object to upsert: its key (the `id_property`'s value) and properties.
#[derive(Debug, Clone, PartialEq)]
pub struct Upsert {
    pub key: String,
    pub properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct Results {
    results: Vec<Upserted>,
}

#[derive(Deserialize)]
struct Upserted {
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
}

/// How long a 429 asks to wait (`Retry-After` seconds; a second when it does not say).
fn retry_after(response: &reqwest::Response) -> Duration {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(Duration::from_secs(1), Duration::from_secs)
}

impl HubSpot {
    pub fn new(base: &str, token: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            http: crate::http_client(30, reqwest::redirect::Policy::none()),
            max_wait: Duration::from_secs(10),
            max_waits: 5,
        }
    }

    /// Sends a request, waiting out short rate limits; the JSON answer.
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, HubSpotError> {
        let mut waits = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), format!("{}{path}", self.base))
                .bearer_auth(&self.token);
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = request
                .send()
                .await
                .map_err(|e| HubSpotError::Network(e.without_url().to_string()))?;
            let status = response.status();
            if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
                let wait = retry_after(&response);
                if wait > self.max_wait || waits >= self.max_waits {
                    return Err(HubSpotError::RateLimited(wait));
                }
                waits += 1;
                tokio::time::sleep(wait).await;
                continue;
            }
            let text = response
                .text()
                .await
                .map_err(|e| HubSpotError::Network(e.without_url().to_string()))?;
            if !status.is_success() {
                return Err(HubSpotError::Status {
                    status: status.as_u16(),
                    body: text.chars().take(500).collect(),
                });
            }
            return if text.trim().is_empty() {
                Ok(Value::Null)
            } else {
                serde_json::from_str(&text).map_err(|e| HubSpotError::Malformed(e.to_string()))
            };
        }
    }

    /// Creates or updates objects of a type by a unique property, at most
    /// [`BATCH_LIMIT`] a call; (key, HubSpot id) of each.
    pub async fn batch_upsert(
        &self,
        object_type: &str,
        id_property: &str,
        objects: &[Upsert],
    ) -> Result<Vec<(String, String)>, HubSpotError> {
        let mut ids = Vec::with_capacity(objects.len());
        for chunk in objects.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(
                    |o| json!({"idProperty": id_property, "id": o.key, "properties": o.properties}),
                )
                .collect();
            let answer = self
                .call(
                    reqwest::Method::POST,
                    &format!("/crm/v3/objects/{object_type}/batch/upsert"),
                    Some(&json!({"inputs": inputs})),
                )
                .await?;
            let results: Results = serde_json::from_value(answer)
                .map_err(|e| HubSpotError::Malformed(e.to_string()))?;
            for result in results.results {
                let key = result
                    .properties
                    .get(id_property)
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        HubSpotError::Malformed(format!("a result without {id_property}"))
                    })?;
                ids.push((key.to_string(), result.id));
            }
        }
        Ok(ids)
    }

    /// Updates objects by their HubSpot ids, at most [`BATCH_LIMIT`] a call.
    pub async fn batch_update(
        &self,
        object_type: &str,
        objects: &[Upsert],
    ) -> Result<(), HubSpotError> {
        for chunk in objects.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|o| json!({"id": o.key, "properties": o.properties}))
                .collect();
            self.call(
                reqwest::Method::POST,
                &format!("/crm/v3/objects/{object_type}/batch/update"),
                Some(&json!({"inputs": inputs})),
            )
            .await?;
        }
        Ok(())
    }

    /// Associates two objects with their default association type.
    pub async fn associate(
        &self,
        from_type: &str,
        from_id: &str,
        to_type: &str,
        to_id: &str,
    ) -> Result<(), HubSpotError> {
        self.call(
            reqwest::Method::PUT,
            &format!(
                "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}"
            ),
            None,
        )
        .await
        .map(|_| ())
    }

    /// Archives an object (HubSpot's delete); one already gone is archived as well.
    pub async fn archive(&self, object_type: &str, id: &str) -> Result<(), HubSpotError> {
        match self
            .call(
                reqwest::Method::DELETE,
                &format!("/crm/v3/objects/{object_type}/{id}"),
                None,
            )
            .await
        {
            Ok(_) | Err(HubSpotError::Status { status: 404, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Associates pairs of objects with their default association type, at most
    /// [`BATCH_LIMIT`] a call.
    pub async fn batch_associate(
        &self,
        from_type: &str,
        to_type: &str,
        pairs: &[(String, String)],
    ) -> Result<(), HubSpotError> {
        for chunk in pairs.chunks(BATCH_LIMIT) {
            let inputs: Vec<Value> = chunk
                .iter()
                .map(|(from, to)| json!({"from": {"id": from}, "to": {"id": to}}))
                .collect();
            self.call(
                reqwest::Method::POST,
                &format!("/crm/v4/associations/{from_type}/{to_type}/batch/associate/default"),
                Some(&json!({"inputs": inputs})),
            )
            .await?;
        }
        Ok(())
    }

    /// The objectTypeId of a custom object schema by its name (`2-1234567`), if defined.
    pub async fn custom_object_type(&self, name: &str) -> Result<Option<String>, HubSpotError> {
        let answer = self
            .call(reqwest::Method::GET, "/crm/v3/schemas", None)
            .await?;
        Ok(answer["results"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|schema| schema["name"] == name)
            .and_then(|schema| schema["objectTypeId"].as_str())
            .map(str::to_string))
    }

    /// Submits a form (the public forms API, which takes no token): 204 on success.
    pub async fn submit_form(
        &self,
        forms_url: &str,
        portal_id: &str,
        form_id: &str,
        fields: &[(&str, &str)],
    ) -> Result<(), HubSpotError> {
        let url = format!(
            "{}/uploads/form/v2/{portal_id}/{form_id}",
            forms_url.trim_end_matches('/')
        );
        let response = self
            .http
            .post(url)
            .form(fields)
            .send()
            .await
            .map_err(|e| HubSpotError::Network(e.without_url().to_string()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(HubSpotError::RateLimited(retry_after(&response)));
        }
        Err(HubSpotError::Status {
            status: status.as_u16(),
            body: response
                .text()
                .await
                .unwrap_or_default()
                .chars()
                .take(500)
                .collect(),
        })
    }
}
