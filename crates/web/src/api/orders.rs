//! The processor's merchant post (`POST /api/checkout/result/`, server to server, the same
//! signed result the browser carries) and the learner's order APIs of MITx Online v0:
//! history, receipt and status.

use axum::Router;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use services::commerce::payment::{Channel, PaymentError};
use services::commerce::refunds::RequestRefusal;
use std::collections::HashMap;
use store::commerce::orders::{self, Order};

use crate::pages::account::current_user;
use crate::pages::shop::take_result;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/checkout/result/", post(merchant_result))
        .route("/api/v0/orders/history/", get(history))
        .route("/api/v0/orders/receipt/{id}/", get(receipt))
        .route("/api/v0/orders/status/{id}/", get(status))
        .route("/api/v0/orders/refund-requests/", post(refund_request))
}

/// 200 once recorded (whatever the decision); 403 for a bad signature, 404 for an order
/// that is not ours (MITx Online answers 401 and 404).
async fn merchant_result(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    match take_result(&state, &form, Channel::Merchant).await {
        Ok(_) => StatusCode::OK.into_response(),
        Err(PaymentError::BadSignature(_)) => {
            (StatusCode::FORBIDDEN, "Unable to validate request.").into_response()
        }
        Err(PaymentError::UnknownOrder(_)) => {
            (StatusCode::NOT_FOUND, "Order not found.").into_response()
        }
        Err(PaymentError::Db(error)) => {
            tracing::error!(%error, "a merchant post could not be recorded");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn money(m: domain::Money) -> String {
    m.to_decimal().to_string()
}

async fn receipt_shape(state: &AppState, order: &Order) -> Result<Value, ApiError> {
    let db = state.store.db();
    let lines = orders::lines(db, order.id).await?;
    let transactions = orders::transactions(db, order.id).await?;
    Ok(json!({
        "id": order.id,
        "state": order.state.as_str(),
        "purchaser": order.purchaser_id,
        "total_price_paid": money(order.total),
        "reference_number": order.reference_number,
        "created_on": order.created_on,
        "lines": lines.iter().map(|l| json!({
            "id": l.id,
            "quantity": l.quantity,
            "item_description": l.description,
            "unit_price": money(l.list),
            "total_price": money(l.price),
            "product": l.product_id,
        })).collect::<Vec<_>>(),
        "discounts": order.discount_id.map(|d| vec![d]).unwrap_or_default(),
        "refunds": transactions.iter().filter(|t| t.kind == "refund").map(|t| json!({"transaction_id": t.transaction_id, "amount": money(t.amount), "created_on": t.created_on})).collect::<Vec<_>>(),
        "transactions": transactions.iter().filter(|t| t.kind == "payment").map(|t| json!({"transaction_id": t.transaction_id, "amount": money(t.amount), "created_on": t.created_on})).collect::<Vec<_>>(),
        "tax": {"amount": money(order.tax), "rate": order.tax_rate, "name": order.tax_rate_name, "country_code": order.tax_country},
    }))
}

async fn own_order(state: &AppState, headers: &HeaderMap, key: &str) -> Result<Order, ApiError> {
    let user = current_user(state, headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let db = state.store.db();
    let order = match key.parse::<i64>() {
        Ok(id) => orders::find(db, id).await?,
        Err(_) => orders::by_reference(db, key).await?,
    };
    order
        .filter(|o| o.purchaser_id == user.id)
        .ok_or(ApiError::NotFound)
}

/// The learner's fulfilled and refunded orders.
async fn history(State(state): State<AppState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let mut out = Vec::new();
    for order in orders::of_purchaser(state.store.db(), user.id).await? {
        if matches!(
            order.state,
            domain::commerce::order::OrderState::Fulfilled
                | domain::commerce::order::OrderState::Refunded
        ) {
            out.push(receipt_shape(&state, &order).await?);
        }
    }
    Ok(Json(out).into_response())
}

async fn receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let order = own_order(&state, &headers, &id).await?;
    Ok(Json(receipt_shape(&state, &order).await?).into_response())
}

#[derive(serde::Deserialize)]
struct RefundAsk {
    order: i64,
    refund_reason: String,
    #[serde(default)]
    refund_reason_text: String,
    #[serde(default)]
    consent_given: bool,
}

/// A learner's refund request (MITx Online): own, fulfilled order, consent required; 201.
async fn refund_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = super::enrollments::learner_with_csrf(&state, &headers).await?;
    let ask: RefundAsk =
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(format!("body: {e}")))?;
    let outcome = crate::pages::shop::ask_refund(
        &state,
        user.id,
        &services::commerce::refunds::Ask {
            order_id: ask.order,
            reason: &ask.refund_reason,
            reason_text: &ask.refund_reason_text,
            consent: ask.consent_given,
        },
    )
    .await;
    match outcome {
        Ok(()) => Ok((
            StatusCode::CREATED,
            Json(json!({"order": ask.order, "refund_reason": ask.refund_reason, "refund_reason_text": ask.refund_reason_text, "consent_given": ask.consent_given, "status": "pending"})),
        )
            .into_response()),
        Err(RequestRefusal::NoSuchOrder) => Err(ApiError::NotFound),
        Err(RequestRefusal::Db(e)) => Err(ApiError::Database(e)),
        Err(refused) => Err(ApiError::BadRequest(refused.to_string())),
    }
}

/// For polling after payment: `{id, reference_number, total_price_paid, state}`.
async fn status(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    let order = own_order(&state, &headers, &key).await?;
    Ok(Json(json!({
        "id": order.id,
        "reference_number": order.reference_number,
        "total_price_paid": money(order.total),
        "state": order.state.as_str(),
    }))
    .into_response())
}
