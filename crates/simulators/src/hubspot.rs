//! A HubSpot CRM fake: batch upserts by a unique property (`/crm/v3/objects/{type}/batch/upsert`),
//! default associations (`/crm/v4/…/associations/default/…`), reads of one object, a token
//! check, and a rate-limit knob answering 429 with `Retry-After` as HubSpot does. A page at
//! the root lists what it holds.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Json, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::faults::escape;

pub const TOKEN: &str = "pat-sim-registrar";

#[derive(Debug, Clone, PartialEq)]
pub struct SimObject {
    pub id: String,
    pub properties: Map<String, Value>,
}

#[derive(Default)]
pub struct HubSpot {
    /// Objects by type, in creation order.
    objects: Mutex<BTreeMap<String, Vec<SimObject>>>,
    /// (from type, from id, to type, to id).
    associations: Mutex<Vec<(String, String, String, String)>>,
    next_id: AtomicU32,
    /// Requests still to refuse with 429 (each says `Retry-After: 1`).
    pub throttle_next: AtomicU32,
    /// Every accepted upsert call: (type, number of inputs).
    pub batches: Mutex<Vec<(String, usize)>>,
    pub submissions: Mutex<Vec<Submission>>,
}

/// A form submission: (portal, form, fields).
pub type Submission = (String, String, BTreeMap<String, String>);

impl HubSpot {
    pub fn objects(&self, object_type: &str) -> Vec<SimObject> {
        self.objects
            .lock()
            .expect("simulator lock")
            .get(object_type)
            .cloned()
            .unwrap_or_default()
    }

    /// Removes an object; whether it was there.
    fn remove(&self, object_type: &str, id: &str) -> bool {
        let mut objects = self.objects.lock().expect("simulator lock");
        let Some(of_type) = objects.get_mut(object_type) else {
            return false;
        };
        let before = of_type.len();
        of_type.retain(|o| o.id != id);
        of_type.len() < before
    }

    pub fn associations(&self) -> Vec<(String, String, String, String)> {
        self.associations.lock().expect("simulator lock").clone()
    }

    /// The object of a type whose property has this value.
    pub fn find(&self, object_type: &str, property: &str, value: &str) -> Option<SimObject> {
        self.objects(object_type)
            .into_iter()
            .find(|o| o.properties.get(property).and_then(Value::as_str) == Some(value))
    }
}

fn refused(state: &HubSpot, headers: &HeaderMap) -> Option<Response> {
    let authorized = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {TOKEN}"));
    if !authorized {
        return Some(
            (
                StatusCode::UNAUTHORIZED,
                Json(json!({"status": "error", "message": "Authentication credentials not found.", "category": "INVALID_AUTHENTICATION"})),
            )
                .into_response(),
        );
    }
    let throttled = state
        .throttle_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    throttled.then(|| {
        (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(json!({"status": "error", "message": "You have reached your secondly limit.", "category": "RATE_LIMITS"})),
        )
            .into_response()
    })
}

#[derive(Deserialize)]
struct Input {
    #[serde(rename = "idProperty")]
    id_property: String,
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct Batch {
    inputs: Vec<Input>,
}

async fn batch_upsert(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path(object_type): Path<String>,
    Json(batch): Json<Batch>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    if batch.inputs.len() > 100 {
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"status": "error", "message": "Batch size is limited to 100", "category": "VALIDATION_ERROR"})),
        )
            .into_response();
    }
    let mut objects = state.objects.lock().expect("simulator lock");
    let of_type = objects.entry(object_type.clone()).or_default();
    let mut results = Vec::new();
    for input in &batch.inputs {
        let key = Value::String(input.id.clone());
        let index = of_type
            .iter()
            .position(|o| o.properties.get(&input.id_property) == Some(&key));
        let (object, new) = match index {
            Some(i) => (&mut of_type[i], false),
            None => {
                let id = (state.next_id.fetch_add(1, Ordering::SeqCst) + 1001).to_string();
                let mut properties = Map::new();
                properties.insert(input.id_property.clone(), key.clone());
                of_type.push(SimObject { id, properties });
                (of_type.last_mut().expect("just pushed"), true)
            }
        };
        for (name, value) in &input.properties {
            object.properties.insert(name.clone(), value.clone());
        }
        results.push(json!({"id": object.id, "properties": object.properties, "new": new}));
    }
    state
        .batches
        .lock()
        .expect("simulator lock")
        .push((object_type, batch.inputs.len()));
    Json(json!({"status": "COMPLETE", "results": results})).into_response()
}

#[derive(Deserialize)]
struct Update {
    id: String,
    #[serde(default)]
    properties: Map<String, Value>,
}

#[derive(Deserialize)]
struct Updates {
    inputs: Vec<Update>,
}

async fn batch_update(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path(object_type): Path<String>,
    Json(batch): Json<Updates>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    let mut objects = state.objects.lock().expect("simulator lock");
    let of_type = objects.entry(object_type.clone()).or_default();
    let mut results = Vec::new();
    for input in &batch.inputs {
        let Some(object) = of_type.iter_mut().find(|o| o.id == input.id) else {
            return (
                StatusCode::NOT_FOUND,
                Json(json!({"status": "error", "message": format!("Object {} not found", input.id), "category": "OBJECT_NOT_FOUND"})),
            )
                .into_response();
        };
        for (name, value) in &input.properties {
            object.properties.insert(name.clone(), value.clone());
        }
        results.push(json!({"id": object.id, "properties": object.properties}));
    }
    state
        .batches
        .lock()
        .expect("simulator lock")
        .push((object_type, batch.inputs.len()));
    Json(json!({"status": "COMPLETE", "results": results})).into_response()
}

/// Records an association; `false` when either object does not exist.
fn link(state: &HubSpot, from_type: &str, from_id: &str, to_type: &str, to_id: &str) -> bool {
    let exists = |t: &str, id: &str| state.objects(t).iter().any(|o| o.id == id);
    if !exists(from_type, from_id) || !exists(to_type, to_id) {
        return false;
    }
    let mut associations = state.associations.lock().expect("simulator lock");
    let pair = (
        from_type.to_string(),
        from_id.to_string(),
        to_type.to_string(),
        to_id.to_string(),
    );
    if !associations.contains(&pair) {
        associations.push(pair);
    }
    true
}

fn objects_missing() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"status": "error", "message": "One or more objects do not exist", "category": "OBJECT_NOT_FOUND"})),
    )
        .into_response()
}

async fn associate(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path((from_type, from_id, to_type, to_id)): Path<(String, String, String, String)>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    if !link(&state, &from_type, &from_id, &to_type, &to_id) {
        return objects_missing();
    }
    Json(json!({"status": "COMPLETE", "results": []})).into_response()
}

#[derive(Deserialize)]
struct Pairs {
    inputs: Vec<Value>,
}

/// `POST /crm/v4/associations/{from}/{to}/batch/associate/default`.
async fn batch_associate(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path((from_type, to_type)): Path<(String, String)>,
    Json(pairs): Json<Pairs>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    for pair in &pairs.inputs {
        let (Some(from), Some(to)) = (pair["from"]["id"].as_str(), pair["to"]["id"].as_str())
        else {
            return objects_missing();
        };
        if !link(&state, &from_type, from, &to_type, to) {
            return objects_missing();
        }
    }
    Json(json!({"status": "COMPLETE", "results": []})).into_response()
}

/// `POST /uploads/form/v2/{portal}/{form}` (forms.hubspot.com): a form submission, 204.
async fn submit_form(
    State(state): State<Arc<HubSpot>>,
    Path((portal, form)): Path<(String, String)>,
    axum::Form(fields): axum::Form<BTreeMap<String, String>>,
) -> Response {
    if !fields.contains_key("email") {
        return (StatusCode::BAD_REQUEST, "email is required").into_response();
    }
    state
        .submissions
        .lock()
        .expect("simulator lock")
        .push((portal, form, fields));
    StatusCode::NO_CONTENT.into_response()
}

/// The certificate custom objects MITx Online defines (`create_hubspot_certificate_schema`).
pub const CERTIFICATE_SCHEMAS: [(&str, &str); 2] = [
    ("course_run_certificate", "2-90001"),
    ("program_certificate", "2-90002"),
];

/// `GET /crm/v3/schemas`: the custom object schemas.
async fn schemas(State(state): State<Arc<HubSpot>>, headers: HeaderMap) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    let results: Vec<Value> = CERTIFICATE_SCHEMAS
        .iter()
        .map(|(name, id)| json!({"name": name, "objectTypeId": id, "associatedObjects": ["CONTACT"]}))
        .collect();
    Json(json!({"results": results})).into_response()
}

async fn read(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path((object_type, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    match state.objects(&object_type).into_iter().find(|o| o.id == id) {
        Some(o) => Json(json!({"id": o.id, "properties": o.properties})).into_response(),
        None => object_not_found(),
    }
}

fn object_not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        Json(json!({"status": "error", "message": "Object not found"})),
    )
        .into_response()
}

/// `DELETE /crm/v3/objects/{type}/{id}`: archives the object and its associations.
async fn archive(
    State(state): State<Arc<HubSpot>>,
    headers: HeaderMap,
    Path((object_type, id)): Path<(String, String)>,
) -> Response {
    if let Some(refused) = refused(&state, &headers) {
        return refused;
    }
    if !state.remove(&object_type, &id) {
        return object_not_found();
    }
    state
        .associations
        .lock()
        .expect("simulator lock")
        .retain(|(ft, fi, tt, ti)| {
            !((ft == &object_type && fi == &id) || (tt == &object_type && ti == &id))
        });
    StatusCode::NO_CONTENT.into_response()
}

async fn page(State(state): State<Arc<HubSpot>>) -> Html<String> {
    let sections: String = ["contacts", "products", "deals", "line_items"]
        .iter()
        .map(|t| {
            let rows: String = state
                .objects(t)
                .iter()
                .map(|o| {
                    format!(
                        "<tr><td>{}</td><td><code>{}</code></td></tr>",
                        escape(&o.id),
                        escape(&Value::Object(o.properties.clone()).to_string())
                    )
                })
                .collect();
            format!("<h2>{t}</h2><table><thead><tr><th>Id</th><th>Properties</th></tr></thead><tbody>{rows}</tbody></table>")
        })
        .collect();
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>HubSpot simulator</title></head><body>\
         <h1>HubSpot simulator</h1><p>{} associations.</p>{sections}</body></html>",
        state.associations().len()
    ))
}

pub fn router(state: Arc<HubSpot>) -> Router {
    Router::new()
        .route("/", get(page))
        .route(
            "/crm/v3/objects/{object_type}/batch/upsert",
            post(batch_upsert),
        )
        .route(
            "/crm/v3/objects/{object_type}/batch/update",
            post(batch_update),
        )
        .route(
            "/crm/v3/objects/{object_type}/{id}",
            get(read).delete(archive),
        )
        .route(
            "/crm/v4/objects/{from_type}/{from_id}/associations/default/{to_type}/{to_id}",
            put(associate),
        )
        .route(
            "/crm/v4/associations/{from_type}/{to_type}/batch/associate/default",
            post(batch_associate),
        )
        .route("/crm/v3/schemas", get(schemas))
        .route("/uploads/form/v2/{portal}/{form}", post(submit_form))
        .with_state(state)
}
