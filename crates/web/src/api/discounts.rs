//! The staff discount API of MITx Online v0 (`/api/v0/discounts/`, `create_batch/`), with
//! a staff token (`Authorization: Bearer`): the same service as the staff page, so the
//! same checks and the same all-or-nothing batches.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use services::commerce::discount_admin::{self, AdminError};
use store::commerce::discounts::{self, DiscountRow};

use super::Params;
use super::staff::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/discounts/", get(list).post(create))
        .route("/api/v0/discounts/create_batch/", post(create_batch))
}

/// MITx Online's discount fields (also a basket's `redeemed_discount`).
pub(crate) fn discount_json(d: &DiscountRow, is_redeemed: bool) -> Value {
    json!({
        "id": d.id,
        "amount": d.rules.kind.amount().to_string(),
        "automatic": d.automatic,
        "discount_type": d.rules.kind.name(),
        "redemption_type": d.rules.redemption.name(),
        "max_redemptions": d.rules.max_redemptions,
        "discount_code": d.code,
        "payment_type": d.payment_type,
        "is_redeemed": is_redeemed,
        "activation_date": d.rules.activation,
        "expiration_date": d.rules.expiration,
        "is_bulk": d.batch.is_some(),
    })
}

async fn shape(state: &AppState, d: &DiscountRow) -> Result<Value, ApiError> {
    let used = discounts::usage(state.store.db(), d.id, None).await?.total;
    Ok(discount_json(d, used > 0))
}

/// Newest first, `?q=` (code contains), `limit`/`offset` as DRF pages them.
async fn list(
    _staff: Staff,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .min(1000);
    let offset: usize = params
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let all = discounts::list(state.store.db(), params.get("q"), 100_000).await?;
    let mut results = Vec::new();
    for d in all.iter().skip(offset).take(limit) {
        results.push(shape(&state, d).await?);
    }
    Ok(
        Json(json!({"count": all.len(), "next": null, "previous": null, "results": results}))
            .into_response(),
    )
}

/// The API's field names as the service's form.
fn form(body: &Value, fields: &[(&str, &str)]) -> HashMap<String, String> {
    fields
        .iter()
        .filter_map(|(api, name)| {
            let value = match &body[*api] {
                Value::Null => return None,
                Value::String(s) => s.clone(),
                Value::Bool(true) => "true".into(),
                Value::Bool(false) => return None,
                other => other.to_string(),
            };
            Some((name.to_string(), value))
        })
        .collect()
}

const FIELDS: [(&str, &str); 9] = [
    ("discount_code", "code"),
    ("amount", "amount"),
    ("discount_type", "kind"),
    ("redemption_type", "redemption"),
    ("max_redemptions", "max_redemptions"),
    ("activation_date", "activation"),
    ("expiration_date", "expiration"),
    ("automatic", "automatic"),
    ("payment_type", "payment_type"),
];

async fn write(
    state: &AppState,
    staff: &Staff,
    form: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let txn = state.store.write().await?;
    let created = discount_admin::create(&txn, form, state.now())
        .await
        .map_err(|e| match e {
            AdminError::Invalid(errors) => ApiError::Invalid(errors),
            AdminError::Db(e) => ApiError::Database(e),
        })?;
    txn.commit().await?;
    tracing::info!(staff = %staff.email, count = created.len(), "discounts created through the API");
    let mut out = Vec::new();
    for (id, _) in created {
        if let Some(d) = discounts::find(state.store.db(), id).await? {
            out.push(shape(state, &d).await?);
        }
    }
    Ok(out)
}

async fn create(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let mut created = write(&state, &staff, &form(&body, &FIELDS)).await?;
    Ok((StatusCode::CREATED, Json(created.remove(0))).into_response())
}

/// `{count, prefix, discount_type, amount, one_time | once_per_user | redemption_type, …}`:
/// `count` codes `prefix` + random, all or none.
async fn create_batch(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Value =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let mut form = form(&body, &FIELDS);
    form.extend(self::form(
        &body,
        &[("count", "count"), ("prefix", "prefix")],
    ));
    if body["one_time"] == Value::Bool(true) {
        form.insert("redemption".into(), "one-time".into());
    } else if body["once_per_user"] == Value::Bool(true) {
        form.insert("redemption".into(), "one-time-per-user".into());
    }
    form.entry("prefix".into()).or_default();
    let created = write(&state, &staff, &form).await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}
