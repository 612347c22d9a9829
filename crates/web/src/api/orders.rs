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

use crate::actions::take_result;
use crate::request::current_user;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/checkout/result/", post(merchant_result))
        .route("/api/v0/orders/history/", get(history))
        .route("/api/v0/orders/receipt/{id}/", get(receipt))
        .route("/api/v0/orders/status/{id}/", get(status))
        .route("/api/v0/orders/refund-requests/", post(refund_request))
        .route("/api/order_receipt/{id}/", get(xpro_receipt))
}

/// The card holder's name a result carries.
pub(super) fn bill_to_name(form: &HashMap<String, String>) -> String {
    [
        form.get("req_bill_to_forename"),
        form.get("req_bill_to_surname"),
    ]
    .into_iter()
    .flatten()
    .map(String::as_str)
    .collect::<Vec<_>>()
    .join(" ")
}

/// A result's card brand: CyberSource's `req_card_type` code named, or as sent if unknown.
pub(super) fn card_type(form: &HashMap<String, String>) -> Option<String> {
    let code = form.get("req_card_type")?;
    Some(
        integrations::cybersource::secure_acceptance::card_type_name(code)
            .map_or_else(|| code.clone(), str::to_string),
    )
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
            crate::error::log_unexpected(&error);
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
    let user = crate::request::learner_with_csrf(&state, &headers).await?;
    let ask: RefundAsk = super::parse_body(&body)?;
    let outcome = crate::actions::ask_refund(
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

/// xPRO `GET /api/order_receipt/{id}/`: one of the caller's own **fulfilled** orders (a
/// refunded or unpaid one is 404, as there) with xPRO's receipt maths per line.
async fn xpro_receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let order = own_order(&state, &headers, &id).await?;
    if order.state != domain::commerce::order::OrderState::Fulfilled {
        return Err(ApiError::NotFound);
    }
    let db = state.store.db();
    let snapshot = state.catalog.get().await?;
    let view = &snapshot.view;
    let address = store::accounts::address(db, user.id).await?;
    let payment: HashMap<String, String> = orders::transactions(db, order.id)
        .await?
        .into_iter()
        .find(|t| t.kind == "payment")
        .and_then(|t| serde_json::from_str(&t.data).ok())
        .unwrap_or_default();
    let coupon = match order.discount_id {
        Some(d) => store::commerce::discounts::find(db, d)
            .await?
            .and_then(|d| d.code),
        None => None,
    };
    let lines: Vec<Value> = orders::lines(db, order.id)
        .await?
        .iter()
        .map(|l| {
            let qty = i64::from(l.quantity);
            let tax_paid = order.tax.minor;
            let total_paid = l.price.minor * qty + tax_paid;
            let item = services::commerce::item(view, l.product_id);
            let (start, end) = match item.as_ref().map(|i| i.sells) {
                Some(store::catalog::read::Purchasable::Run(run)) => view
                    .run(run)
                    .map(|(_, r)| (r.window.start, r.window.end))
                    .unwrap_or_default(),
                Some(store::catalog::read::Purchasable::Program(program)) => view
                    .program(program)
                    .map(|p| (p.start_date, p.end_date))
                    .unwrap_or_default(),
                None => (None, None),
            };
            let cents = |minor: i64| money(domain::Money::from_minor(minor));
            json!({
                "quantity": l.quantity,
                "price": money(l.price),
                "tax_paid": cents(tax_paid),
                "total_paid": cents(total_paid),
                "discount": cents((l.list.minor - l.price.minor) * qty),
                "total_before_tax": cents(total_paid - tax_paid),
                "CEUs": null,
                "content_title": item.as_ref().map_or(l.description.as_str(), |i| i.title.as_str()),
                "readable_id": item.as_ref().map(|i| i.readable_id.clone()),
                "start_date": start,
                "end_date": end,
            })
        })
        .collect();
    let name = bill_to_name(&payment);
    Ok(Json(json!({
        "purchaser": {
            "first_name": address.as_ref().map(|a| a.first_name.clone()),
            "last_name": address.as_ref().map(|a| a.last_name.clone()),
            "street_address": [],
            "city": null,
            "state_or_territory": address.as_ref().and_then(|a| a.state.clone()),
            "country": address.as_ref().map(|a| a.country.clone()),
            "postal_code": null,
            "email": user.email,
            "company": null,
        },
        "lines": lines,
        "coupon": coupon,
        "order": {
            "id": order.id,
            "created_on": order.created_on,
            "reference_number": order.reference_number,
            "tax_rate": order.tax_rate,
            "tax_rate_name": order.tax_rate_name,
            "tax_country_code": order.tax_country,
        },
        "receipt": (!payment.is_empty()).then(|| json!({
            "card_number": payment.get("req_card_number"),
            "card_type": card_type(&payment),
            "name": name,
            "bill_to_email": payment.get("req_bill_to_email"),
            "payment_method": payment.get("req_payment_method"),
        })),
    }))
    .into_response())
}
