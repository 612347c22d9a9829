//! xPRO's bulk seat purchase API (`b2b_ecommerce/urls.py`), unauthenticated as there:
//! checkout, the purchase's status by its public id, its codes as CSV, and a bulk code's
//! check. Refusals answer as DRF's `ValidationError` does: `{field: [message]}` or
//! `[message]`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use services::commerce::bulk::{self, BulkError, Purchase};
use services::commerce::checkout::Checkout;
use store::catalog::read::CatalogView;
use store::commerce::bulk_orders::{self, BulkOrder};
use store::commerce::discounts;

use super::baskets::{fields, product_of, product_version_json};
use super::{Params, csv_field};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/b2b/checkout/", post(checkout))
        .route("/api/b2b/orders/{hash}/status/", get(status))
        .route("/api/b2b/orders/{hash}/codes/", get(codes))
        .route("/api/b2b/coupon_status/", get(coupon_status))
}

fn refusal(error: BulkError) -> Response {
    let message = error.to_string();
    let body = match error {
        BulkError::Db(e) => return ApiError::Database(e).into_response(),
        BulkError::NoSuchProduct => return ApiError::NotFound.into_response(),
        BulkError::Email | BulkError::Seats | BulkError::SeatCount | BulkError::ContractUsed => {
            json!({ error.field().unwrap_or_default(): [message] })
        }
        BulkError::InvalidCode | BulkError::NotSoldInBulk => json!([message]),
    };
    (StatusCode::BAD_REQUEST, Json(body)).into_response()
}

fn missing(name: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        Json(json!([format!("Missing parameter {name}")])),
    )
        .into_response()
}

/// The product a version id names (xPRO's checkout names the version it was shown).
fn product_of_version(view: &CatalogView, version_id: i64) -> Option<i64> {
    let products = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter().filter_map(|r| r.product.as_ref()))
        .chain(view.programs.iter().filter_map(|p| p.product.as_ref()));
    products
        .into_iter()
        .find(|p| p.versions.iter().any(|(id, _)| *id == version_id))
        .map(|p| p.id)
}

/// `POST /api/b2b/checkout/` `{num_seats, email, product_version_id, discount_code,
/// contract_number?}` → `{payload, url, method}`.
async fn checkout(State(state): State<AppState>, body: axum::body::Bytes) -> Response {
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return ApiError::NotFound.into_response();
    };
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(&body) else {
        return ApiError::BadRequest("The body is not a JSON object.".into()).into_response();
    };
    for name in ["num_seats", "email", "product_version_id", "discount_code"] {
        if !body.contains_key(name) {
            return missing(name);
        }
    }
    let text = |name: &str| match body.get(name) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    let Ok(num_seats) = text("num_seats").trim().parse::<i32>() else {
        return refusal(BulkError::Seats);
    };
    let Ok(snapshot) = state.catalog.get().await else {
        return ApiError::BadRequest("The catalog is not available.".into()).into_response();
    };
    let Some(product_id) = text("product_version_id")
        .trim()
        .parse()
        .ok()
        .and_then(|v| product_of_version(&snapshot.view, v))
    else {
        return ApiError::NotFound.into_response();
    };
    let email = text("email");
    let code = text("discount_code");
    let contract = text("contract_number");
    let outcome = bulk::checkout(
        &state.store,
        &snapshot.view,
        store_front,
        &Purchase {
            email: &email,
            num_seats,
            product_id,
            code: &code,
            contract_number: Some(contract.as_str()),
        },
        state.now(),
    )
    .await;
    let next = match outcome {
        Ok(next) => next,
        Err(error) => return refusal(error),
    };
    match next {
        Checkout::Pay { url, fields: f, .. } => {
            Json(json!({"payload": fields(&f), "url": url, "method": "POST"})).into_response()
        }
        Checkout::Free { order } => Json(json!({
            "payload": {},
            "url": bulk::receipt_url(&store_front.base_url, &order),
            "method": "GET",
        }))
        .into_response(),
    }
}

/// xPRO's statuses: `created`, `fulfilled`, `failed`, `refunded`.
fn xpro_status(order: &BulkOrder) -> &'static str {
    use domain::commerce::order::OrderState::*;
    match order.state {
        Pending => "created",
        Fulfilled => "fulfilled",
        Refunded => "refunded",
        Declined | Errored | Canceled => "failed",
    }
}

async fn find(state: &AppState, hash: &str) -> Result<BulkOrder, ApiError> {
    bulk_orders::by_unique_id(state.store.db(), hash)
        .await?
        .ok_or(ApiError::NotFound)
}

/// `GET /api/b2b/orders/{hash}/status/`.
async fn status(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let order = find(&state, &hash).await?;
    let db = state.store.db();
    let snapshot = state.catalog.get().await?;
    let receipt: HashMap<String, String> = bulk_orders::accepted_payment(db, order.id)
        .await?
        .and_then(|p| serde_json::from_str(&p).ok())
        .unwrap_or_default();
    let user = match domain::accounts::Email::parse(&order.email) {
        Ok(email) => store::accounts::find_by_email(db, &email).await?,
        Err(_) => None,
    };
    let customer_name = user
        .map(|u| u.name)
        .unwrap_or_else(|| super::orders::bill_to_name(&receipt));
    let coupon_code = match order.discount_id {
        Some(id) => discounts::find(db, id).await?.and_then(|d| d.code),
        None => None,
    };
    let money = |m: domain::Money| m.to_decimal().to_string();
    Ok(Json(json!({
        "status": xpro_status(&order),
        "num_seats": order.num_seats,
        "total_price": money(order.total),
        "item_price": money(order.per_item),
        "discount": order.discount_id.map(|_| money(order.discount)),
        "product_version": services::commerce::item(&snapshot.view, order.product_id)
            .map(|item| product_version_json(&snapshot.view, &item)),
        "email": order.email,
        "customer_name": customer_name,
        "contract_number": order.contract_number,
        "created_on": order.created_on,
        "reference_number": order.reference_number,
        "coupon_code": coupon_code,
        "receipt_data": {
            "card_number": receipt.get("req_card_number"),
            "card_type": super::orders::card_type(&receipt),
        },
    }))
    .into_response())
}

/// Doubles quotes, for a CSV field.
/// `GET /api/b2b/orders/{hash}/codes/`: xPRO's spreadsheet, two instruction rows then a
/// `url` column of redemption links. Only a fulfilled purchase has codes.
async fn codes(
    State(state): State<AppState>,
    Path(hash): Path<String>,
) -> Result<Response, ApiError> {
    let order = find(&state, &hash).await?;
    let base = &state.settings.base_url;
    let mut csv = String::new();
    csv.push_str(&csv_field(
        "Distribute these links to your learners: each enrolls one learner, once.",
    ));
    csv.push('\n');
    csv.push_str(&csv_field(&format!(
        "Questions? Write to {}",
        state
            .settings
            .storefront
            .as_ref()
            .and_then(|s| s.support_email.clone())
            .unwrap_or_else(|| base.clone())
    )));
    csv.push_str("\n\nurl\n");
    for (code, _) in bulk_orders::codes(state.store.db(), order.id).await? {
        csv.push_str(&csv_field(&bulk::redeem_url(base, order.product_id, &code)));
        csv.push('\n');
    }
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"enrollmentcodes-{}.csv\"",
                    order.unique_id
                ),
            ),
        ],
        csv,
    )
        .into_response())
}

/// `GET /api/b2b/coupon_status/?code=&product_id=` → `{code, product_id, discount_percent}`
/// (a fraction, as xPRO stores it), or 404.
async fn coupon_status(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let params = Params::parse(query.as_deref());
    let (Some(code), Some(product)) = (params.get("code"), params.get("product_id")) else {
        return Err(ApiError::BadRequest(
            "code and product_id are required".into(),
        ));
    };
    let snapshot = state.catalog.get().await?;
    let product_id =
        product_of(&snapshot.view, &Value::String(product.into())).ok_or(ApiError::NotFound)?;
    let discount = match bulk::coupon(state.store.db(), code, product_id, state.now()).await {
        Ok(d) => d,
        Err(BulkError::Db(e)) => return Err(ApiError::Database(e)),
        Err(_) => return Err(ApiError::NotFound),
    };
    let fraction = (discount.rules.kind.amount() / rust_decimal::Decimal::ONE_HUNDRED).normalize();
    Ok(Json(json!({
        "code": discount.code,
        "product_id": product_id,
        "discount_percent": fraction.to_string(),
    }))
    .into_response())
}
