//! xPRO's coupon admin API (`/api/coupons/`): create a batch of single-use codes or a promo
//! code (`BaseCouponSerializer`), and deactivate coupons by code or batch name. Staff token
//! (`Authorization: Bearer`), the same service as the staff page. Refusals answer as xPRO:
//! `400 {"errors": [{field: message}]}`.

use std::collections::HashMap;

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::post;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use services::commerce::discount_admin::{self, AdminError};

use super::staff::Staff;
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/coupons/", post(create).put(deactivate))
}

fn refused(errors: Vec<(String, String)>) -> Response {
    let errors: Vec<Value> = errors
        .into_iter()
        .map(|(field, message)| json!({ field: message }))
        .collect();
    (StatusCode::BAD_REQUEST, Json(json!({ "errors": errors }))).into_response()
}

fn text(body: &Value, key: &str) -> String {
    match &body[key] {
        Value::String(s) => s.trim().to_string(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

/// The service's form for an xPRO coupon request, or the fields xPRO would refuse.
fn form(body: &Value) -> Result<HashMap<String, String>, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let mut missing = |key: &str| {
        if text(body, key).is_empty() {
            errors.push((key.to_string(), "This field is required.".to_string()));
        }
    };
    for key in [
        "name",
        "amount",
        "coupon_type",
        "discount_type",
        "activation_date",
        "expiration_date",
    ] {
        missing(key);
    }
    let coupon_type = text(body, "coupon_type");
    match coupon_type.as_str() {
        "single-use" => {
            for key in ["num_coupon_codes", "payment_transaction", "payment_type"] {
                missing(key);
            }
        }
        "promo" => missing("coupon_code"),
        "" => {}
        other => errors.push((
            "coupon_type".into(),
            format!("\"{other}\" is not a valid choice."),
        )),
    }
    let is_global = body["is_global"] == Value::Bool(true);
    let products: Vec<String> = body["product_ids"]
        .as_array()
        .map(|ids| ids.iter().map(|id| id.to_string()).collect())
        .unwrap_or_default();
    if !is_global && products.is_empty() {
        errors.push((
            "product_ids".into(),
            "At least one product must be selected or coupon should be global.".into(),
        ));
    }
    // xPRO's percent is a fraction (0.25); the service's is a percent.
    let kind = text(body, "discount_type");
    let amount = match (kind.as_str(), text(body, "amount").parse::<Decimal>()) {
        ("percent-off", Ok(fraction)) if fraction > Decimal::ZERO && fraction <= Decimal::ONE => {
            (fraction * Decimal::ONE_HUNDRED).normalize().to_string()
        }
        ("percent-off", _) => {
            errors.push(("amount".into(), "Must be more than 0 and at most 1.".into()));
            String::new()
        }
        (_, Ok(dollars)) => dollars.to_string(),
        (_, Err(_)) => String::new(),
    };
    let per_user = text(body, "max_redemptions_per_user");
    if !per_user.is_empty()
        && !per_user
            .parse::<u32>()
            .is_ok_and(|n| (1..=100).contains(&n))
    {
        errors.push((
            "max_redemptions_per_user".into(),
            "Must be from 1 to 100.".into(),
        ));
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    let single_use = coupon_type == "single-use";
    let mut form = HashMap::from([
        ("batch".to_string(), text(body, "name")),
        ("kind".to_string(), kind),
        ("amount".to_string(), amount),
        ("activation".to_string(), text(body, "activation_date")),
        ("expiration".to_string(), text(body, "expiration_date")),
        ("payment_type".to_string(), text(body, "payment_type")),
        (
            "payment_transaction".to_string(),
            text(body, "payment_transaction"),
        ),
        ("products".to_string(), products.join(",")),
    ]);
    if single_use {
        form.insert("count".into(), text(body, "num_coupon_codes"));
        form.insert("bare_codes".into(), "true".into());
        form.insert("redemption".into(), "one-time".into());
    } else {
        form.insert("code".into(), text(body, "coupon_code"));
        form.insert(
            "count".into(),
            Some(text(body, "num_coupon_codes"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "1".into()),
        );
        let per_user = per_user.parse::<u32>().unwrap_or(1);
        form.insert(
            "redemption".into(),
            if per_user == 1 {
                "one-time-per-user"
            } else {
                "unlimited"
            }
            .into(),
        );
        form.insert(
            "max_redemptions".into(),
            Some(text(body, "max_redemptions"))
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| "1".into()),
        );
    }
    if body["automatic"] == Value::Bool(true) {
        form.insert("automatic".into(), "true".into());
    }
    Ok(form)
}

/// `POST /api/coupons/`: 201 with the batch as created.
async fn create(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Value = super::parse_body(&body)?;
    let form = match form(&body) {
        Ok(form) => form,
        Err(errors) => return Ok(refused(errors)),
    };
    let name = text(&body, "name");
    let created = match discount_admin::create_batch(&state.store, &name, &form, state.now()).await
    {
        Ok(created) => created,
        Err(AdminError::Invalid(errors)) => {
            return Ok(refused(
                errors
                    .fields()
                    .flat_map(|(field, messages)| {
                        messages.iter().map(move |m| (field.to_string(), m.clone()))
                    })
                    .collect(),
            ));
        }
        Err(AdminError::Db(e)) => return Err(ApiError::Database(e)),
    };
    tracing::info!(staff = %staff.email, batch = %name, count = created.len(), "coupons created through the xPRO API");
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "payment": {"name": name},
            "coupon_type": text(&body, "coupon_type"),
            "discount_type": text(&body, "discount_type"),
            "amount": text(&body, "amount"),
            "num_coupon_codes": created.len(),
            "activation_date": body["activation_date"],
            "expiration_date": body["expiration_date"],
            "payment_type": body["payment_type"],
            "payment_transaction": body["payment_transaction"],
            "automatic": body["automatic"] == Value::Bool(true),
            "tag": body["tag"],
            "company": null,
            "codes": created.iter().map(|(_, code)| code).collect::<Vec<_>>(),
        })),
    )
        .into_response())
}

/// `PUT /api/coupons/` `{"coupons": "code-or-name\n…"}`: those coupons end now.
async fn deactivate(
    staff: Staff,
    State(state): State<AppState>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let body: Value = super::parse_body(&body)?;
    let names: Vec<String> = text(&body, "coupons")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if names.is_empty() {
        return Ok(refused(vec![(
            "coupons".into(),
            "This field is required.".into(),
        )]));
    }
    let (ended, skipped) = discount_admin::expire(&state.store, &names, state.now()).await?;
    tracing::info!(staff = %staff.email, ended, "coupons deactivated through the xPRO API");
    Ok(
        Json(json!({"num_of_coupons_deactivated": ended, "skipped_codes": skipped}))
            .into_response(),
    )
}
