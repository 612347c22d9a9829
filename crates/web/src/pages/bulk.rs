//! Bulk seat purchases for organisations (xPRO's `/ecommerce/bulk/` pages): the purchase
//! form, which needs no account; the receipt page found by the purchase's public id, with
//! its codes and their spreadsheet; and `/redeem/`, where a learner takes one code.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Money;
use domain::catalog::Site;
use domain::catalog::validate::FieldErrors;
use domain::commerce::order::OrderState;
use services::commerce::basket::sale_blocker;
use services::commerce::bulk::{self, BulkError, Purchase};
use services::commerce::checkout::Checkout;
use store::catalog::read::CatalogView;
use store::commerce::bulk_orders;

use super::account::{Field, current_user, field};
use super::shop::pay_page;
use super::{Meta, assets, render, text};
use crate::AppState;
use crate::error::PageError;
use crate::request::Params;

pub struct Offer {
    pub product_id: i64,
    pub label: String,
}

#[derive(Template)]
#[template(path = "shop/bulk.html")]
struct BulkForm {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    offers: Vec<Offer>,
    chosen: Option<i64>,
    product_error: Option<String>,
    fields: Vec<Field>,
    form_error: Option<String>,
}

/// xPRO products on sale now, by title.
fn offers(view: &CatalogView, now: chrono::DateTime<chrono::Utc>) -> Vec<Offer> {
    let ids = view
        .courses
        .iter()
        .filter(|c| c.site == Site::Xpro)
        .flat_map(|c| c.runs.iter().filter_map(|r| r.product.as_ref()))
        .chain(
            view.programs
                .iter()
                .filter(|p| p.site == Site::Xpro)
                .filter_map(|p| p.product.as_ref()),
        )
        .map(|p| p.id);
    let mut offers: Vec<Offer> = ids
        .filter_map(|id| bulk::bulk_item(view, id).ok())
        .filter(|item| item.list > Money::ZERO && sale_blocker(view, item, now).is_none())
        .map(|item| Offer {
            product_id: item.product_id,
            label: format!("{} — {} per seat", item.title, text::price(Some(item.list))),
        })
        .collect();
    offers.sort_by(|a, b| a.label.cmp(&b.label));
    offers
}

async fn form_page(
    state: &AppState,
    headers: &HeaderMap,
    values: &HashMap<String, String>,
    errors: &FieldErrors,
    form_error: Option<String>,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let mut meta = Meta::new(
        state,
        "/ecommerce/bulk/",
        "Buy seats for your team",
        "Buy enrollment codes for a course or program, one per learner.",
    );
    meta.signed_in = current_user(state, headers).await.map(|u| u.email);
    let status = if errors.is_empty() && form_error.is_none() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    Ok(render(
        status,
        &BulkForm {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            offers: offers(&snapshot.view, state.now()),
            chosen: values.get("product_id").and_then(|v| v.parse().ok()),
            product_error: errors.get("product_id").map(|m| m.join("; ")),
            fields: vec![
                field(
                    "num_seats",
                    "Number of seats",
                    "number",
                    "off",
                    values,
                    errors,
                ),
                field(
                    "email",
                    "Your email (the receipt and codes go here)",
                    "email",
                    "email",
                    values,
                    errors,
                ),
                field(
                    "discount_code",
                    "Bulk discount code (optional)",
                    "text",
                    "off",
                    values,
                    errors,
                ),
                field(
                    "contract_number",
                    "Contract or purchase-order number (optional)",
                    "text",
                    "off",
                    values,
                    errors,
                ),
            ],
            form_error,
        },
    ))
}

/// `GET /ecommerce/bulk/`.
pub async fn form(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let mut values = HashMap::from([("num_seats".to_string(), "10".to_string())]);
    if let Some(product) = params.get("product") {
        values.insert("product_id".into(), product.to_string());
    }
    form_page(&state, &headers, &values, &FieldErrors::default(), None).await
}

/// `POST /ecommerce/bulk/`: to the processor, or (nothing to pay) straight to the receipt.
pub async fn buy(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(PageError::not_found("This site does not sell anything."));
    };
    let get = |k: &str| values.get(k).map(String::as_str).unwrap_or_default();
    let mut errors = FieldErrors::default();
    let num_seats = get("num_seats").trim().parse::<i32>().unwrap_or_else(|_| {
        errors.add("num_seats", BulkError::Seats.to_string());
        0
    });
    let product_id = get("product_id").parse::<i64>().unwrap_or_else(|_| {
        errors.add("product_id", "Choose what to buy");
        0
    });
    if !errors.is_empty() {
        return form_page(&state, &headers, &values, &errors, None).await;
    }
    let snapshot = state.catalog.get().await?;
    let outcome = bulk::checkout(
        &state.store,
        &snapshot.view,
        store_front,
        &Purchase {
            email: get("email"),
            num_seats,
            product_id,
            code: get("discount_code"),
            contract_number: Some(get("contract_number")),
        },
        state.now(),
    )
    .await;
    let next = match outcome {
        Ok(next) => next,
        Err(BulkError::Db(error)) => return Err(error.into()),
        Err(refused) => {
            let field = refused.field().unwrap_or("product_id");
            errors.add(field, refused.to_string());
            return form_page(&state, &headers, &values, &errors, None).await;
        }
    };
    Ok(match next {
        Checkout::Free { order } => Redirect::to(&format!(
            "/ecommerce/bulk/receipt/?hash={}",
            order.unique_id
        ))
        .into_response(),
        Checkout::Pay { order, url, fields } => pay_page(
            Meta::new(&state, "/ecommerce/bulk/", "Payment", "Payment"),
            order.reference_number.clone(),
            order.total,
            url,
            fields,
        ),
    })
}

pub struct CodeRow {
    pub code: String,
    pub link: String,
    pub redeemed: bool,
}

#[derive(Template)]
#[template(path = "shop/bulk_receipt.html")]
struct ReceiptPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    reference: String,
    state: String,
    paid: bool,
    title: String,
    seats: i32,
    per_seat: String,
    discount: Option<String>,
    total: String,
    email: String,
    contract: Option<String>,
    hash: String,
    codes: Vec<CodeRow>,
}

/// `GET /ecommerce/bulk/receipt/?hash=`: anyone holding the link may read it (as xPRO).
pub async fn receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let hash = params.get("hash").unwrap_or_default();
    let db = state.store.db();
    let Some(order) = bulk_orders::by_unique_id(db, hash).await? else {
        return Err(PageError::not_found("There is no such purchase."));
    };
    let snapshot = state.catalog.get().await?;
    let codes = bulk_orders::codes(db, order.id).await?;
    let base = &state.settings.base_url;
    let mut meta = Meta::new(
        &state,
        &format!("/ecommerce/bulk/receipt/?hash={hash}"),
        "Your enrollment codes",
        "Receipt and enrollment codes of a bulk purchase",
    );
    meta.signed_in = current_user(&state, &headers).await.map(|u| u.email);
    let state_text = match order.state {
        OrderState::Pending => "awaiting payment".to_string(),
        other => other.to_string(),
    };
    Ok(render(
        StatusCode::OK,
        &ReceiptPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            reference: order.reference_number.clone(),
            state: state_text,
            paid: order.state == OrderState::Fulfilled,
            title: services::commerce::item(&snapshot.view, order.product_id)
                .map_or_else(|| format!("product {}", order.product_id), |i| i.title),
            seats: order.num_seats,
            per_seat: text::price(Some(order.per_item)),
            discount: (order.discount > Money::ZERO)
                .then(|| format!("−{}", text::price(Some(order.discount)))),
            total: text::price(Some(order.total)),
            email: order.email.clone(),
            contract: order.contract_number.clone(),
            hash: order.unique_id.clone(),
            codes: codes
                .into_iter()
                .map(|(code, redeemed)| CodeRow {
                    link: bulk::redeem_url(base, order.product_id, &code),
                    code,
                    redeemed,
                })
                .collect(),
        },
    ))
}

#[derive(Template)]
#[template(path = "shop/redeem.html")]
struct RedeemPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    product_id: i64,
    title: String,
    code: String,
}

/// `GET /redeem/?product=&code=`: a learner confirms taking a seat; the basket does the rest.
pub async fn redeem(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let Some(user) = current_user(&state, &headers).await else {
        let here = format!("/redeem/?{}", query.unwrap_or_default());
        let next: String = form_urlencoded::byte_serialize(here.as_bytes()).collect();
        return Ok(Redirect::to(&format!("/signin?next={next}")).into_response());
    };
    let snapshot = state.catalog.get().await?;
    let item = params
        .get("product")
        .and_then(|p| p.parse().ok())
        .and_then(|id| services::commerce::item(&snapshot.view, id));
    let (Some(item), Some(code)) = (item, params.get("code").filter(|c| !c.is_empty())) else {
        return Err(PageError::not_found(
            "This enrollment link names no product or code on sale.",
        ));
    };
    let mut meta = Meta::new(
        &state,
        "/redeem/",
        "Redeem an enrollment code",
        "Redeem an enrollment code",
    );
    meta.signed_in = Some(user.email);
    Ok(render(
        StatusCode::OK,
        &RedeemPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            product_id: item.product_id,
            title: item.title,
            code: code.to_string(),
        },
    ))
}
