//! The staff discount API of MITx Online v0 (`/api/v0/discounts/`, `create_batch/`, one
//! discount's read, change and removal, and its nested `products`, `assignees` and
//! `redemptions`), with a staff token (`Authorization: Bearer`): the same service as the
//! staff page, so the same checks and the same all-or-nothing batches.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, patch, post};
use serde_json::{Value, json};
use services::commerce::discount_admin::{self, AdminError};
use store::commerce::discounts::{self, DiscountRow, Scope};

use super::Params;
use super::staff::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/discounts/", get(list).post(create))
        .route("/api/v0/discounts/create_batch/", post(create_batch))
        .route(
            "/api/v0/discounts/{id}/",
            get(retrieve).put(update).patch(update).delete(destroy),
        )
        .route(
            "/api/v0/discounts/{id}/products/",
            get(products).post(link_product),
        )
        .route(
            "/api/v0/discounts/{id}/products/{product}/",
            patch(link_product).delete(unlink_product),
        )
        .route(
            "/api/v0/discounts/{id}/assignees/",
            get(assignees).post(assign),
        )
        .route(
            "/api/v0/discounts/{id}/assignees/{user}/",
            patch(assign).delete(unassign),
        )
        .route("/api/v0/discounts/{id}/redemptions/", get(redemptions))
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

/// DRF's limit/offset page of already-rendered items.
fn limit_offset(params: &Params, items: Vec<Value>) -> Value {
    let limit: usize = params
        .get("limit")
        .and_then(|l| l.parse().ok())
        .unwrap_or(100)
        .min(1000);
    let offset: usize = params
        .get("offset")
        .and_then(|o| o.parse().ok())
        .unwrap_or(0);
    let count = items.len();
    let results: Vec<Value> = items.into_iter().skip(offset).take(limit).collect();
    json!({"count": count, "next": null, "previous": null, "results": results})
}

/// Newest first; `?q=` (code contains), `is_redeemed=yes|no`, `redemption_type`,
/// `payment_type`; `limit`/`offset` as DRF pages them.
async fn list(
    _staff: Staff,
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let mut results = Vec::new();
    for d in discounts::list(state.store.db(), params.get("q"), 100_000).await? {
        if params
            .get("redemption_type")
            .is_some_and(|t| t != d.rules.redemption.name())
            || params
                .get("payment_type")
                .is_some_and(|t| Some(t) != d.payment_type.as_deref())
        {
            continue;
        }
        let shaped = shape(&state, &d).await?;
        let redeemed = shaped["is_redeemed"] == Value::Bool(true);
        match params.get("is_redeemed") {
            Some("yes") if !redeemed => continue,
            Some("no") if redeemed => continue,
            _ => results.push(shaped),
        }
    }
    Ok(Json(limit_offset(&params, results)).into_response())
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

/// The service's refusal with each field under the name the API calls it.
fn refusal(error: AdminError) -> ApiError {
    match error {
        AdminError::Invalid(errors) => {
            let mut named = domain::catalog::validate::FieldErrors::default();
            for (field, messages) in errors.fields() {
                let api = FIELDS
                    .iter()
                    .find(|(_, name)| *name == field)
                    .map_or(field, |(api, _)| api);
                for message in messages {
                    named.add(api.to_string(), message.clone());
                }
            }
            ApiError::Invalid(named)
        }
        AdminError::Db(e) => ApiError::Database(e),
    }
}

async fn write(
    state: &AppState,
    staff: &Staff,
    form: &HashMap<String, String>,
) -> Result<Vec<Value>, ApiError> {
    let created = discount_admin::create(&state.store, form, state.now())
        .await
        .map_err(refusal)?;
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
    let body: Value = super::parse_body(&body)?;
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
    let body: Value = super::parse_body(&body)?;
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

async fn found(state: &AppState, id: i64) -> Result<DiscountRow, ApiError> {
    discounts::find(state.store.db(), id)
        .await?
        .ok_or(ApiError::NotFound)
}

async fn retrieve(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let d = found(&state, id).await?;
    Ok(Json(shape(&state, &d).await?).into_response())
}

/// The stored discount as the service's form, for a partial change to be laid over.
fn stored_form(d: &DiscountRow) -> HashMap<String, String> {
    let mut form = HashMap::from([
        ("code".to_string(), d.code.clone().unwrap_or_default()),
        ("amount".to_string(), d.rules.kind.amount().to_string()),
        ("kind".to_string(), d.rules.kind.name().to_string()),
        (
            "redemption".to_string(),
            d.rules.redemption.name().to_string(),
        ),
        (
            "max_redemptions".to_string(),
            d.rules.max_redemptions.to_string(),
        ),
        (
            "payment_type".to_string(),
            d.payment_type.clone().unwrap_or_default(),
        ),
    ]);
    for (key, at) in [
        ("activation", d.rules.activation),
        ("expiration", d.rules.expiration),
    ] {
        if let Some(at) = at {
            form.insert(key.into(), at.to_rfc3339());
        }
    }
    for (key, on) in [("automatic", d.automatic), ("bulk", d.bulk)] {
        if on {
            form.insert(key.into(), "true".into());
        }
    }
    form
}

/// PUT or PATCH: the fields given replace the stored ones (`false` or `null` clears).
async fn update(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let existing = found(&state, id).await?;
    let body: Value = super::parse_body(&body)?;
    let mut form = stored_form(&existing);
    for (api, name) in FIELDS {
        if body.get(api).is_some() {
            form.remove(name);
        }
    }
    form.extend(self::form(&body, &FIELDS));
    discount_admin::update(&state.store, id, &form, state.now())
        .await
        .map_err(refusal)?;
    tracing::info!(staff = %staff.email, discount = id, "discount changed through the API");
    let d = found(&state, id).await?;
    Ok(Json(shape(&state, &d).await?).into_response())
}

/// 204; a discount that priced an order is kept as its record (409).
async fn destroy(
    staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    found(&state, id).await?;
    match discount_admin::delete(&state.store, id).await {
        Ok(()) => {}
        Err(refused @ discount_admin::DeleteError::InUse) => {
            return Err(ApiError::Conflict(refused.to_string()));
        }
        Err(discount_admin::DeleteError::Db(e)) => return Err(e.into()),
    }
    tracing::info!(staff = %staff.email, discount = id, "discount deleted through the API");
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn user_json(user: &store::accounts::User) -> Value {
    json!({"id": user.id, "username": user.username, "name": user.name, "email": user.email})
}

/// The body key naming a new member of a scope.
fn member_key(scope: Scope) -> &'static str {
    match scope {
        Scope::Products => "product_id",
        Scope::Users => "user",
    }
}

/// A scope's links: `[{id, discount, product}]` (MITx Online `DiscountProduct`) or
/// `[{id, discount, user}]` (`UserDiscountMeta`); a link's id is its member's.
async fn links(state: &AppState, scope: Scope, d: &DiscountRow) -> Result<Vec<Value>, ApiError> {
    let discount = shape(state, d).await?;
    let mut out = Vec::new();
    match scope {
        Scope::Products => {
            let snapshot = state.catalog.get().await?;
            for product in &d.rules.products {
                let shown = services::commerce::item(&snapshot.view, *product)
                    .map(|i| super::baskets::mitx_product_json(&i))
                    .unwrap_or_else(|| json!({"id": product}));
                out.push(json!({"id": product, "discount": discount, "product": shown}));
            }
        }
        Scope::Users => {
            for user_id in &d.rules.users {
                if let Some(user) = store::accounts::find(state.store.db(), *user_id).await? {
                    out.push(
                        json!({"id": user.id, "discount": discount, "user": user_json(&user)}),
                    );
                }
            }
        }
    }
    Ok(out)
}

/// Whether the member a change names exists.
async fn member_exists(state: &AppState, scope: Scope, member: i64) -> Result<bool, ApiError> {
    let db = state.store.db();
    Ok(match scope {
        Scope::Products => discounts::unknown_products(db, &[member]).await?.is_empty(),
        Scope::Users => store::accounts::find(db, member).await?.is_some(),
    })
}

async fn list_scope(
    state: &AppState,
    scope: Scope,
    id: i64,
    query: Option<&str>,
) -> Result<Response, ApiError> {
    let d = found(state, id).await?;
    let links = links(state, scope, &d).await?;
    Ok(Json(limit_offset(&Params::parse(query), links)).into_response())
}

/// Adds the member the body names (201, or 200 when it was there); the whole list back,
/// as MITx Online answers.
async fn add_member(
    state: &AppState,
    staff: &Staff,
    scope: Scope,
    path: &[(String, String)],
    body: &[u8],
) -> Result<Response, ApiError> {
    let id = path
        .iter()
        .find(|(k, _)| k == "id")
        .and_then(|(_, v)| v.parse().ok())
        .ok_or(ApiError::NotFound)?;
    found(state, id).await?;
    let key = member_key(scope);
    let body: Value =
        serde_json::from_slice(body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let member = match &body[key] {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .ok_or_else(|| ApiError::BadRequest(format!("{key} is required: a whole number")))?;
    if !member_exists(state, scope, member).await? {
        return Err(ApiError::BadRequest(format!("{key}: there is no {member}")));
    }
    let added = discount_admin::add_to_scope(&state.store, scope, id, member).await?;
    tracing::info!(staff = %staff.email, discount = id, ?scope, member, "discount scope widened");
    let d = found(state, id).await?;
    let status = if added {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(links(state, scope, &d).await?)).into_response())
}

async fn remove_member(
    state: &AppState,
    staff: &Staff,
    scope: Scope,
    id: i64,
    member: i64,
) -> Result<Response, ApiError> {
    found(state, id).await?;
    discount_admin::remove_from_scope(&state.store, scope, id, member).await?;
    tracing::info!(staff = %staff.email, discount = id, ?scope, member, "discount scope narrowed");
    let d = found(state, id).await?;
    Ok(Json(links(state, scope, &d).await?).into_response())
}

async fn products(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    list_scope(&state, Scope::Products, id, query.as_deref()).await
}

/// POST, or PATCH `…/products/{any}/`, `{product_id}`.
async fn link_product(
    staff: Staff,
    State(state): State<AppState>,
    Path(path): Path<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    add_member(&state, &staff, Scope::Products, &path, &body).await
}

async fn unlink_product(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, product)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    remove_member(&state, &staff, Scope::Products, id, product).await
}

async fn assignees(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    list_scope(&state, Scope::Users, id, query.as_deref()).await
}

/// POST, or PATCH `…/assignees/{any}/`, `{user}`.
async fn assign(
    staff: Staff,
    State(state): State<AppState>,
    Path(path): Path<Vec<(String, String)>>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    add_member(&state, &staff, Scope::Users, &path, &body).await
}

async fn unassign(
    staff: Staff,
    State(state): State<AppState>,
    Path((id, user)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    remove_member(&state, &staff, Scope::Users, id, user).await
}

/// `[{id, redemption_date, redeemed_by, redeemed_discount, redeemed_order}]`.
async fn redemptions(
    _staff: Staff,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let d = found(&state, id).await?;
    let discount = shape(&state, &d).await?;
    let db = state.store.db();
    let mut out = Vec::new();
    for r in discounts::redemptions(db, id).await? {
        let user = store::accounts::find(db, r.user_id).await?;
        let order = store::commerce::orders::find(db, r.order_id).await?;
        out.push(json!({
            "id": r.id,
            "redemption_date": r.created_on,
            "redeemed_by": user.as_ref().map(user_json),
            "redeemed_discount": discount,
            "redeemed_order": order.map(|o| json!({
                "id": o.id,
                "reference_number": o.reference_number,
                "state": o.state.as_str(),
                "total_price_paid": o.total.to_decimal().to_string(),
                "purchaser": o.purchaser_id,
                "created_on": o.created_on,
            })),
        }));
    }
    Ok(Json(limit_offset(&Params::parse(query.as_deref()), out)).into_response())
}
