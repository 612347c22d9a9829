//! Orders for staff (`/staff/orders/`, `/staff/refunds/`): search by buyer, reference or
//! state (with bulk seat purchases); one order's lines, history, processor posts and
//! transactions; refunds, payments taken that no fulfilment accounts for (refund or
//! fulfil them), and the learners' refund requests.

use std::collections::HashMap;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use domain::commerce::order::OrderState;
use services::commerce::held;
use services::commerce::refunds::{self, RefundFailure};
use store::commerce::{bulk_orders, orders, refund_requests};

use super::{StaffMember, meta};
use crate::AppState;
use crate::error::PageError;
use crate::pages::{Meta, assets, render, text};
use crate::request::Params;

pub struct OrderLine {
    pub link: String,
    pub reference: String,
    pub date: String,
    pub buyer: String,
    pub total: String,
    pub state: OrderState,
    pub flag: Option<String>,
}

#[derive(Template)]
#[template(path = "staff/orders.html")]
struct OrdersPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    query: String,
    state: String,
    /// Only orders that need a person.
    attention: bool,
    states: Vec<&'static str>,
    orders: Vec<OrderLine>,
    /// Bulk seat purchases, linked to their public receipt pages.
    bulk: Vec<OrderLine>,
}

async fn buyer(state: &AppState, user_id: i64) -> String {
    store::accounts::find(state.store.db(), user_id)
        .await
        .ok()
        .flatten()
        .map(|u| u.email)
        .unwrap_or_else(|| format!("user {user_id}"))
}

pub async fn orders_list(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let params = Params::parse(query.as_deref());
    let q = params.get("q").unwrap_or_default().to_string();
    let wanted = params.get("state").unwrap_or_default().to_string();
    let filter = wanted.parse::<OrderState>().ok();
    let attention = params.get("attention").is_some_and(|a| !a.is_empty());
    let found = orders::search(state.store.db(), Some(&q), filter, attention, 200).await?;
    let bulk = bulk_orders::search(state.store.db(), Some(&q), 200).await?;
    let bulk = bulk
        .into_iter()
        .filter(|b| filter.is_none_or(|f| f == b.state) && (!attention || b.flag.is_some()))
        .map(|b| OrderLine {
            link: format!("/ecommerce/bulk/receipt/?hash={}", b.unique_id),
            date: text::date(b.created_on),
            buyer: format!(
                "{} · {} seats{}",
                b.email,
                b.num_seats,
                b.contract_number
                    .map(|c| format!(" · contract {c}"))
                    .unwrap_or_default()
            ),
            total: text::price(Some(b.total)),
            reference: b.reference_number,
            state: b.state,
            flag: b.flag,
        })
        .collect();
    let mut lines = Vec::with_capacity(found.len());
    for o in found {
        lines.push(OrderLine {
            link: format!("/staff/orders/{}", o.id),
            date: text::date(o.created_on),
            buyer: buyer(&state, o.purchaser_id).await,
            total: text::price(Some(o.amount_due())),
            reference: o.reference_number,
            state: o.state,
            flag: o.flag,
        });
    }
    Ok(render(
        StatusCode::OK,
        &OrdersPage {
            meta: meta(&state, "/staff/orders/", "Orders", Some(who), false),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            query: q,
            state: wanted,
            attention,
            states: OrderState::ALL.iter().map(|s| s.as_str()).collect(),
            orders: lines,
            bulk,
        },
    ))
}

#[derive(Template)]
#[template(path = "staff/order.html")]
struct OrderPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    reference: String,
    buyer: String,
    state: OrderState,
    total: String,
    tax: Option<String>,
    flag: Option<String>,
    lines: Vec<String>,
    transitions: Vec<String>,
    posts: Vec<String>,
    transactions: Vec<String>,
    id: i64,
    refundable: bool,
    request: Option<String>,
    /// Payments taken that no fulfilment accounts for: (transaction id, amount).
    unaccounted: Vec<(String, String)>,
    /// Whether staff may fulfil the order for a payment taken.
    fulfillable: bool,
}

pub async fn order_detail(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let Some(order) = orders::find(db, id).await? else {
        return Err(PageError::not_found(format!("There is no order {id}.")));
    };
    let lines = orders::lines(db, id).await?;
    let transitions = orders::transitions(db, id).await?;
    let posts = orders::received_for(db, id).await?;
    let transactions = orders::transactions(db, id).await?;
    let request = refund_requests::pending_for(db, id).await?;
    Ok(render(
        StatusCode::OK,
        &OrderPage {
            meta: meta(
                &state,
                &format!("/staff/orders/{id}"),
                &order.reference_number,
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            buyer: buyer(&state, order.purchaser_id).await,
            total: text::price(Some(order.amount_due())),
            tax: (order.tax.minor > 0).then(|| text::price(Some(order.tax))),
            lines: lines
                .iter()
                .map(|l| {
                    format!(
                        "{} · list {} · paid {}",
                        l.description,
                        text::price(Some(l.list)),
                        text::price(Some(l.price))
                    )
                })
                .collect(),
            transitions: transitions
                .iter()
                .map(|t| {
                    format!(
                        "{} · {} → {} · {}",
                        text::date(t.at),
                        t.from.map(|f| f.as_str()).unwrap_or("new"),
                        t.to,
                        t.cause
                    )
                })
                .collect(),
            posts: posts
                .iter()
                .map(|(channel, decision, valid, outcome)| {
                    format!(
                        "{channel} · {} · signature {} · {outcome}",
                        decision.as_deref().unwrap_or("no decision"),
                        if *valid { "valid" } else { "INVALID" }
                    )
                })
                .collect(),
            transactions: transactions
                .iter()
                .map(|t| {
                    format!(
                        "{} {} · {} · {}",
                        t.kind,
                        t.transaction_id,
                        text::price(Some(t.amount)),
                        text::date(t.created_on)
                    )
                })
                .collect(),
            unaccounted: held::unaccounted(&order, &transactions)
                .into_iter()
                .map(|t| (t.transaction_id, text::price(Some(t.amount))))
                .collect(),
            fulfillable: matches!(
                order.state,
                OrderState::Errored | OrderState::Canceled | OrderState::Declined
            ) && !held::unaccounted(&order, &transactions).is_empty(),
            id,
            refundable: order.state == OrderState::Fulfilled,
            request: request.map(|r| {
                format!(
                    "{} ({}) {}",
                    r.reason,
                    text::date(r.created_on),
                    r.reason_text
                )
            }),
            reference: order.reference_number,
            state: order.state,
            flag: order.flag,
        },
    ))
}

pub async fn order_refund(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let get = |k: &str| values.get(k).map(|v| v.trim()).unwrap_or_default();
    let amount = match get("amount") {
        "" => None,
        text => match domain::Money::parse(text) {
            Ok(m) => Some(m),
            Err(e) => return Err(PageError::bad_request(format!("The amount {e}."))),
        },
    };
    if get("reason").is_empty() {
        return Err(PageError::bad_request("Give a reason for the refund."));
    }
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(PageError::not_found("This site does not sell anything."));
    };
    let snapshot = state.catalog.get().await?;
    let outcome = refunds::refund(
        &state.store,
        &snapshot.view,
        store_front.refunds.as_deref(),
        id,
        &refunds::Refund {
            amount,
            reason: get("reason"),
            unenroll: values.contains_key("unenroll"),
            by: &who,
        },
        state.now(),
    )
    .await;
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/staff/orders/{id}")).into_response()),
        Err(RefundFailure::Db(error)) => Err(error.into()),
        Err(RefundFailure::NoSuchOrder) => {
            Err(PageError::not_found(format!("There is no order {id}.")))
        }
        Err(refused) => Err(PageError::conflict(format!(
            "The order was not refunded: {refused}."
        ))),
    }
}

/// `POST /staff/orders/{id}/refund-payment`: gives back one payment taken that no
/// fulfilment accounts for.
pub async fn refund_payment(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let transaction = values
        .get("transaction")
        .map(|t| t.trim())
        .unwrap_or_default();
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(PageError::not_found("This site does not sell anything."));
    };
    let outcome = held::refund_payment(
        &state.store,
        store_front.refunds.as_deref(),
        id,
        transaction,
        &who,
        state.now(),
    )
    .await;
    held_outcome(id, outcome, "The payment was not refunded")
}

/// `POST /staff/orders/{id}/fulfil`: grants a held order for the payment taken.
pub async fn fulfil_held(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let snapshot = state.catalog.get().await?;
    let outcome = held::fulfil(
        &state.store,
        &snapshot.view,
        &state.settings.base_url,
        id,
        &who,
        state.now(),
    )
    .await;
    held_outcome(id, outcome, "The order was not fulfilled")
}

fn held_outcome(
    id: i64,
    outcome: Result<orders::Order, held::HeldError>,
    failed: &str,
) -> Result<Response, PageError> {
    match outcome {
        Ok(_) => Ok(Redirect::to(&format!("/staff/orders/{id}")).into_response()),
        Err(held::HeldError::Db(error)) => Err(error.into()),
        Err(held::HeldError::NoSuchOrder) => {
            Err(PageError::not_found(format!("There is no order {id}.")))
        }
        Err(refused) => Err(PageError::conflict(format!("{failed}: {refused}."))),
    }
}

pub struct RequestLine {
    pub order_id: i64,
    pub reference: String,
    pub date: String,
    pub learner: String,
    pub reason: String,
}

#[derive(Template)]
#[template(path = "staff/refunds.html")]
struct RefundsPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    requests: Vec<RequestLine>,
}

pub async fn refund_queue(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
) -> Result<Response, PageError> {
    let db = state.store.db();
    let pending = refund_requests::pending(db).await?;
    let mut requests = Vec::with_capacity(pending.len());
    for r in pending {
        let reference = orders::find(db, r.order_id)
            .await
            .ok()
            .flatten()
            .map(|o| o.reference_number)
            .unwrap_or_default();
        requests.push(RequestLine {
            order_id: r.order_id,
            reference,
            date: text::date(r.created_on),
            learner: buyer(&state, r.user_id).await,
            reason: format!("{} {}", r.reason, r.reason_text),
        });
    }
    Ok(render(
        StatusCode::OK,
        &RefundsPage {
            meta: meta(
                &state,
                "/staff/refunds/",
                "Refund requests",
                Some(who),
                false,
            ),
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            requests,
        },
    ))
}

pub async fn refund_deny(
    State(state): State<AppState>,
    StaffMember(who): StaffMember,
    Path(order_id): Path<i64>,
) -> Result<Response, PageError> {
    refund_requests::decide(state.store.db(), order_id, "denied", &who, state.now()).await?;
    Ok(Redirect::to("/staff/refunds/").into_response())
}
