//! The basket and checkout APIs of both references over the same basket the pages use.
//! MITx Online v0: `/api/v0/baskets/` (the learner's basket as `BasketWithProduct`),
//! `create_from_product/{id}/[{code}/]`, `add_discount/?discount_code=`, `checkout/` (a
//! `CheckoutPayload`), `clear/`. xPRO: `GET`/`PATCH /api/basket/` and `POST /api/checkout/`
//! (`{payload, url, method}`). Changes need the session and, as DRF asks, `X-CSRFToken`.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use services::commerce::Item;
use services::commerce::basket::{self, BasketError, ChangeError, CodeChange, ItemChange, Priced};
use services::commerce::checkout::{Checkout, checkout};
use store::accounts::User;
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::baskets::{self, Owner};

use super::Params;
use crate::client_ip::ClientIp;
use crate::request::country;
use crate::request::current_user;
use crate::request::{learner_same_site, learner_with_csrf};
use crate::{ApiError, AppState};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v0/baskets/", get(mitx_list))
        .route(
            "/api/v0/baskets/create_from_product/{product_id}/",
            post(mitx_create_from_product),
        )
        .route(
            "/api/v0/baskets/create_from_product/{product_id}/{discount_code}/",
            post(mitx_create_with_code),
        )
        .route("/api/v0/baskets/add_discount/", post(mitx_add_discount))
        .route("/api/v0/baskets/checkout/", get(mitx_checkout))
        .route("/api/v0/baskets/clear/", delete(mitx_clear))
        .route(
            "/api/basket/",
            get(xpro_get).patch(xpro_patch).put(xpro_patch),
        )
        .route("/api/checkout/", post(xpro_checkout))
}

fn money(m: domain::Money) -> String {
    m.to_decimal().to_string()
}

async fn priced(
    state: &AppState,
    user: &User,
    ip: Option<IpAddr>,
) -> Result<(Option<Priced>, i64), ApiError> {
    let snapshot = state.catalog.get().await?;
    let country = country(state, Some(user), ip).await;
    let owner = Owner::User(user.id);
    let priced = basket::priced(
        state.store.db(),
        &snapshot.view,
        &owner,
        country.as_deref(),
        state.now(),
    )
    .await
    .map_err(refused)?;
    let id = baskets::find(state.store.db(), &owner)
        .await?
        .map(|b| b.id)
        .unwrap_or_default();
    Ok((priced, id))
}

fn refused(error: BasketError) -> ApiError {
    match error {
        BasketError::Db(e) => ApiError::Database(e),
        BasketError::NoSuchProduct => ApiError::NotFound,
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// MITx Online's `Product` fields of what an item sells.
pub(super) fn mitx_product_json(item: &Item) -> Value {
    json!({
        "id": item.product_id,
        "price": item.list.as_f64(),
        "description": item.description,
        "is_active": true,
        "purchasable_object": {"readable_id": item.readable_id, "title": item.title},
    })
}

/// MITx Online `BasketWithProduct`.
fn mitx_basket(user: &User, id: i64, priced: Option<&Priced>) -> Value {
    let items: Vec<Value> = priced
        .map(|p| {
            vec![json!({
                "basket": id,
                "id": id,
                "product": mitx_product_json(&p.item),
            })]
        })
        .unwrap_or_default();
    let discounts: Vec<Value> = priced
        .and_then(|p| p.discount.as_ref())
        .map(|d| {
            vec![json!({
                "redeemed_discount": super::discounts::discount_json(d, false),
                "redeemed_basket": id,
            })]
        })
        .unwrap_or_default();
    json!({
        "id": id,
        "user": user.id,
        "anonymous_id": null,
        "basket_items": items,
        "total_price": priced.map(|p| p.quote.list.as_f64()).unwrap_or(0.0),
        "discounted_price": priced.map(|p| p.quote.price.as_f64()).unwrap_or(0.0),
        "discounts": discounts,
    })
}

async fn mitx_list(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let (priced, id) = priced(&state, &user, ip).await?;
    let baskets = if id == 0 {
        Vec::new()
    } else {
        vec![mitx_basket(&user, id, priced.as_ref())]
    };
    Ok(Json(baskets).into_response())
}

/// Puts a product (and optionally a code) in the learner's basket.
async fn fill(
    state: &AppState,
    user: &User,
    product_id: Option<i64>,
    code: Option<&str>,
) -> Result<(), ApiError> {
    let snapshot = state.catalog.get().await?;
    let owner = Owner::User(user.id);
    basket::put(
        &state.store,
        &snapshot.view,
        &owner,
        product_id,
        code,
        state.now(),
    )
    .await
    .map_err(refused)
}

async fn mitx_create_from_product(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path(product_id): Path<i64>,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    fill(&state, &user, Some(product_id), None).await?;
    let (priced, id) = priced(&state, &user, ip).await?;
    Ok(Json(mitx_basket(&user, id, priced.as_ref())).into_response())
}

async fn mitx_create_with_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Path((product_id, code)): Path<(i64, String)>,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    fill(&state, &user, Some(product_id), Some(&code)).await?;
    let (priced, id) = priced(&state, &user, ip).await?;
    Ok(Json(mitx_basket(&user, id, priced.as_ref())).into_response())
}

async fn mitx_add_discount(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let params = Params::parse(query.as_deref());
    let code = params
        .get("discount_code")
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ApiError::BadRequest("discount_code: this parameter is required".into()))?;
    fill(&state, &user, None, Some(code)).await?;
    let (priced, id) = priced(&state, &user, ip).await?;
    Ok(Json(mitx_basket(&user, id, priced.as_ref())).into_response())
}

async fn mitx_clear(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    basket::clear(&state.store, &Owner::User(user.id)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Checks out for an API caller; `Err` carries the refusal.
async fn check_out(
    state: &AppState,
    user: &User,
    client_ip: Option<IpAddr>,
) -> Result<Result<Checkout, BasketError>, ApiError> {
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(ApiError::NotFound);
    };
    let snapshot = state.catalog.get().await?;
    let country = country(state, Some(user), client_ip).await;
    let outcome = checkout(
        &state.store,
        &snapshot.view,
        store_front,
        user,
        country.as_deref(),
        client_ip.map(|ip| ip.to_string()).as_deref(),
        state.now(),
    )
    .await;
    Ok(outcome)
}

pub(super) fn fields(fields: &[(String, String)]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// MITx Online `CheckoutPayload`; 400 with `error` when the basket cannot be checked out.
async fn mitx_checkout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = learner_same_site(&state, &headers).await?;
    let base = state.settings.base_url.trim_end_matches('/').to_string();
    Ok(match check_out(&state, &user, ip).await? {
        Ok(Checkout::Pay { order, url, fields: f }) => Json(json!({
            "no_checkout": false, "url": url, "method": "POST", "payload": fields(&f), "order_id": order.id, "error": null,
        }))
        .into_response(),
        Ok(Checkout::Free { order }) => Json(json!({
            "no_checkout": true, "url": format!("{base}/orders/{}/", order.id), "method": "GET", "payload": {}, "order_id": order.id, "error": null,
        }))
        .into_response(),
        Err(BasketError::Db(e)) => return Err(ApiError::Database(e)),
        Err(refusal) => {
            let error = match &refusal {
                BasketError::Empty => "basket-empty",
                BasketError::AlreadyPurchased => "enroll-duplicated",
                BasketError::Code { .. } => "discount-invalid",
                BasketError::CountryBlocked => "enroll-blocked",
                _ => "course-non-upgradable",
            };
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"no_checkout": false, "url": "", "method": "POST", "payload": {}, "order_id": 0, "error": error, "detail": refusal.to_string()})),
            )
                .into_response()
        }
    })
}

/// xPRO's `FullProductVersionSerializer` fields of what an item sells (its price is the
/// current version's).
pub(super) fn product_version_json(view: &CatalogView, item: &Item) -> Value {
    let (kind, object_id, start) = match item.sells {
        Purchasable::Run(run) => (
            "courserun",
            run,
            view.run(run).and_then(|(_, r)| r.window.start),
        ),
        Purchasable::Program(program) => (
            "program",
            program,
            view.program(program).and_then(|p| p.start_date),
        ),
    };
    json!({
        "price": money(item.list),
        "content_title": item.title,
        "readable_id": item.readable_id,
        "id": item.version_id,
        "object_id": object_id,
        "product_id": item.product_id,
        "type": kind,
        "start_date": start,
        "description": item.description,
    })
}

/// xPRO's basket: `{items, coupons, data_consents, tax_info}`.
fn xpro_basket(view: &CatalogView, priced: Option<&Priced>) -> Value {
    let items: Vec<Value> = priced
        .map(|p| {
            let mut item = product_version_json(view, &p.item);
            let run_ids = match p.item.sells {
                Purchasable::Run(run) => vec![run],
                Purchasable::Program(_) => Vec::new(),
            };
            item["run_ids"] = json!(run_ids);
            item["run_tag"] = json!(p.program_run);
            vec![item]
        })
        .unwrap_or_default();
    let coupons: Vec<Value> = priced
        .and_then(|p| p.discount.as_ref().map(|d| (p, d)))
        .map(|(p, d)| {
            vec![json!({
                "code": d.code,
                "amount": d.rules.kind.amount().to_string(),
                "targets": [p.item.version_id],
                "discount_type": d.rules.kind.name(),
            })]
        })
        .unwrap_or_default();
    let tax = priced.and_then(|p| p.tax_rate.as_ref());
    json!({
        "items": items,
        "coupons": coupons,
        "data_consents": [],
        "tax_info": {
            "country_code": tax.map(|t| t.country.clone()).unwrap_or_default(),
            "tax_rate": tax.map(|t| t.percent.to_string()).unwrap_or_else(|| "0".into()),
            "tax_rate_name": tax.map(|t| t.name.clone()).unwrap_or_else(|| "VAT".into()),
            "active": tax.is_some(),
        },
    })
}

async fn xpro_get(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = current_user(&state, &headers)
        .await
        .ok_or(ApiError::Unauthorized)?;
    let (priced, _) = priced(&state, &user, ip).await?;
    let snapshot = state.catalog.get().await?;
    Ok(Json(xpro_basket(&snapshot.view, priced.as_ref())).into_response())
}

#[derive(Deserialize)]
struct XproItem {
    product_id: Value,
}

#[derive(Deserialize)]
struct XproCoupon {
    code: String,
}

#[derive(Deserialize)]
struct XproPatch {
    items: Option<Vec<XproItem>>,
    coupons: Option<Vec<XproCoupon>>,
    #[serde(default)]
    data_consents: Option<Vec<Value>>,
}

/// xPRO answers `400 {"errors": {<field>: …}}`.
pub(super) fn xpro_error(field: &str, message: impl Into<String>) -> ApiError {
    let mut errors = domain::catalog::validate::FieldErrors::default();
    errors.add(field, message.into());
    ApiError::Invalid(errors)
}

/// A product by numeric id or text id: a run's courseware id or a program's readable id
/// (a space read as `+`, as xPRO reads it).
pub(super) fn product_of(view: &CatalogView, id: &Value) -> Option<i64> {
    product_and_run(view, id).map(|(product, _)| product)
}

/// [`product_of`], also reading a program run's full id (`program-v1:xPRO+QCR+R1`): the
/// program's product and the run's tag.
fn product_and_run(view: &CatalogView, id: &Value) -> Option<(i64, Option<String>)> {
    if let Some(n) = id.as_i64() {
        return Some((n, None));
    }
    let text = id.as_str()?.replace(' ', "+");
    if let Ok(n) = text.parse() {
        return Some((n, None));
    }
    let run = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .find(|r| r.courseware_id == text)
        .and_then(|r| r.product.as_ref());
    if let Some(product) = run.or_else(|| {
        view.program_by_readable_id(&text)
            .and_then(|p| p.product.as_ref())
    }) {
        return Some((product.id, None));
    }
    let (program, tag) = text.rsplit_once('+')?;
    let is_run_tag =
        tag.len() > 1 && tag.starts_with('R') && tag[1..].chars().all(|c| c.is_ascii_digit());
    let program = view
        .program_by_readable_id(program)
        .filter(|_| is_run_tag)?;
    let product = program.product.as_ref()?;
    program
        .runs
        .iter()
        .any(|r| r.run_tag == tag)
        .then(|| (product.id, Some(tag.to_string())))
}

async fn xpro_patch(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let patch: XproPatch = super::parse_body(&body)?;
    if patch.items.is_none() && patch.coupons.is_none() && patch.data_consents.is_none() {
        return Err(ApiError::BadRequest("Invalid request".into()));
    }
    let snapshot = state.catalog.get().await?;
    let owner = Owner::User(user.id);
    let item = match patch.items.as_deref() {
        None => None,
        Some([]) => Some(ItemChange::Clear),
        Some([item]) => {
            let (product_id, run) = product_and_run(&snapshot.view, &item.product_id)
                .ok_or_else(|| xpro_error("items", "Invalid product id"))?;
            Some(match run {
                Some(run_tag) => ItemChange::ProgramRun {
                    product_id,
                    run_tag,
                },
                None => ItemChange::Product(product_id),
            })
        }
        Some(_) => {
            return Err(xpro_error(
                "items",
                "Basket cannot contain more than one item",
            ));
        }
    };
    let code = match patch.coupons.as_deref() {
        None => None,
        Some([]) => Some(CodeChange::Clear),
        Some([coupon]) => Some(CodeChange::Apply(coupon.code.clone())),
        Some(_) => {
            return Err(xpro_error(
                "coupons",
                "Basket cannot contain more than one coupon",
            ));
        }
    };
    match basket::change(
        &state.store,
        &snapshot.view,
        &owner,
        item.as_ref(),
        code.as_ref(),
        state.now(),
    )
    .await
    {
        Ok(()) => {}
        Err(ChangeError::Item(e)) => return Err(xpro_error("items", e.to_string())),
        Err(ChangeError::Code(_)) => {
            let code = patch
                .coupons
                .iter()
                .flatten()
                .next()
                .map(|c| c.code.as_str());
            return Err(xpro_error(
                "coupons",
                format!(
                    "Enrollment / Promotional Code '{}' is invalid",
                    code.unwrap_or_default()
                ),
            ));
        }
        Err(ChangeError::Db(e)) => return Err(e.into()),
    }
    let (priced, _) = priced(&state, &user, ip).await?;
    Ok(Json(xpro_basket(&snapshot.view, priced.as_ref())).into_response())
}

/// `{payload, url, method}`: the signed form for the processor, or (nothing to pay) the
/// receipt to go to.
async fn xpro_checkout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let user = learner_with_csrf(&state, &headers).await?;
    let base = state.settings.base_url.trim_end_matches('/').to_string();
    match check_out(&state, &user, ip).await? {
        Ok(Checkout::Pay { url, fields: f, .. }) => {
            Ok(Json(json!({"payload": fields(&f), "url": url, "method": "POST"})).into_response())
        }
        Ok(Checkout::Free { order }) => Ok(Json(json!({
            "payload": {"transaction_id": format!("T-{}", order.id), "transaction_total": 0.0, "reference_number": order.reference_number},
            "url": format!("{base}/orders/{}/", order.id),
            "method": "GET",
        }))
        .into_response()),
        Err(BasketError::Db(e)) => Err(ApiError::Database(e)),
        Err(BasketError::Empty) => Err(xpro_error("items", "No items in basket. Cannot complete checkout.")),
        Err(BasketError::AlreadyPurchased) => Err(xpro_error("runs", "You are already enrolled in one or more of these courses.")),
        Err(refusal) => Err(xpro_error("items", refusal.to_string())),
    }
}
