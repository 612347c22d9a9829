//! Buying: the basket (`/cart/`), checkout into the processor's hosted page, the learner's
//! copy of the result (`/checkout/result/`, posted cross-site by CyberSource with no session,
//! so it is answered with a redirect to a page that has one), and order history and receipts.
//! A visitor who is not signed in has a basket keyed by a random cookie, handed over at sign-in.

use std::collections::HashMap;
use std::net::IpAddr;

use askama::Template;
use axum::Form;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use domain::Money;
use domain::commerce::order::OrderState;
use services::commerce::basket::{self, BasketError};
use services::commerce::checkout::{Checkout, checkout};
use services::commerce::payment::{Channel, Paid, PaymentError};
use services::commerce::refunds::{self, RequestRefusal};
use store::accounts::User;
use store::commerce::baskets::Owner;
use store::commerce::orders;

use super::account::current_user;
use super::{Flash, Meta, assets, render, text};
use crate::AppState;
use crate::actions::{ask_refund, take_result};
use crate::client_ip::ClientIp;
use crate::error::PageError;
use crate::request::Params;
use crate::request::country;

const BASKET_COOKIE: &str = "registrar_basket";

fn dollars(m: Money) -> String {
    text::price(Some(m))
}

/// Who the basket belongs to: the signed-in learner, or the visitor's basket cookie.
async fn owner(state: &AppState, headers: &HeaderMap) -> (Option<User>, Option<Owner>) {
    let user = current_user(state, headers).await;
    let owner = match &user {
        Some(u) => Some(Owner::User(u.id)),
        None => crate::csrf::cookie_value(headers, BASKET_COOKIE).map(Owner::Anonymous),
    };
    (user, owner)
}

/// At sign-in: a visitor's basket becomes the learner's. The header clearing the cookie.
pub async fn hand_over(state: &AppState, headers: &HeaderMap, user_id: i64) -> Option<String> {
    let anonymous = crate::csrf::cookie_value(headers, BASKET_COOKIE)?;
    if let Err(error) =
        services::commerce::basket::hand_over(&state.store, &anonymous, user_id, state.now()).await
    {
        tracing::error!(%error, "the visitor's basket could not be handed over");
    }
    Some(format!(
        "{BASKET_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0"
    ))
}

pub struct BasketView {
    pub title: String,
    pub readable_id: String,
    pub list: String,
    pub discount: Option<String>,
    pub tax: Option<String>,
    pub total: String,
    pub blocker: Option<String>,
    pub free: bool,
}

#[derive(Template)]
#[template(path = "shop/cart.html")]
struct CartPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    basket: Option<BasketView>,
    code: String,
    code_error: Option<String>,
    signed_in: bool,
}

async fn cart_page(
    state: &AppState,
    headers: &HeaderMap,
    client_ip: Option<IpAddr>,
    code: &str,
    code_error: Option<String>,
    flash: Option<Flash>,
) -> Result<Response, PageError> {
    let (user, owner) = owner(state, headers).await;
    let snapshot = state.catalog.get().await?;
    let country = country(state, user.as_ref(), client_ip).await;
    let priced = match &owner {
        Some(owner) => basket::priced(
            state.store.db(),
            &snapshot.view,
            owner,
            country.as_deref(),
            state.now(),
        )
        .await
        .ok()
        .flatten(),
        None => None,
    };
    let mut flash = flash;
    if let Some(dropped) = priced.as_ref().and_then(|p| p.dropped_code.clone()) {
        flash = Some(Flash {
            kind: "error",
            message: format!(
                "The code {dropped} no longer applies and was removed from the price."
            ),
        });
    }
    let basket = priced.map(|p| BasketView {
        title: p.item.title.clone(),
        readable_id: p.item.readable_id.clone(),
        list: dollars(p.quote.list),
        discount: (p.quote.discount > Money::ZERO).then(|| {
            let code = p
                .discount
                .as_ref()
                .and_then(|d| d.code.clone())
                .unwrap_or_else(|| "automatic".into());
            format!("−{} ({code})", dollars(p.quote.discount))
        }),
        tax: p.tax_rate.as_ref().map(|r| {
            format!(
                "{} {} % ({}): {}",
                r.name,
                r.percent,
                r.country,
                dollars(p.quote.tax)
            )
        }),
        total: dollars(p.quote.total),
        free: p.quote.total == Money::ZERO,
        blocker: p.blocker.clone(),
    });
    let mut meta = Meta::new(state, "/cart/", "Your basket", "Your basket");
    meta.signed_in = user.as_ref().map(|u| u.email.clone());
    meta.flash = flash;
    let status = if code_error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    Ok(render(
        status,
        &CartPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            basket,
            code: code.to_string(),
            code_error,
            signed_in: user.is_some(),
        },
    ))
}

/// What a processor result means for the learner, by `?payment=`.
fn payment_note(query: Option<&str>) -> Option<Flash> {
    let message = match Params::parse(query).get("payment")? {
        "declined" => "Your payment was declined; nothing was charged. You can try another card.",
        "canceled" => "The payment was canceled; nothing was charged.",
        "errored" => "The payment could not be completed; nothing was charged. Please try again.",
        _ => return None,
    };
    Some(Flash {
        kind: "error",
        message: message.to_string(),
    })
}

pub async fn cart(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    cart_page(
        &state,
        &headers,
        ip,
        "",
        None,
        payment_note(query.as_deref()),
    )
    .await
}

pub async fn add(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(product_id) = values.get("product_id").and_then(|v| v.parse::<i64>().ok()) else {
        return Err(PageError::bad_request("The form did not name a product."));
    };
    let (_, owner) = owner(&state, &headers).await;
    let (owner, new_cookie) = match owner {
        Some(owner) => (owner, None),
        None => {
            let id = store::secret::new_token();
            (
                Owner::Anonymous(id.clone()),
                Some(format!(
                    "{BASKET_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age=1209600"
                )),
            )
        }
    };
    let snapshot = state.catalog.get().await?;
    let code = values.get("code").map(|c| c.trim()).unwrap_or_default();
    let added = basket::put_with_code(
        &state.store,
        &snapshot.view,
        &owner,
        product_id,
        code,
        state.now(),
    )
    .await;
    match added {
        Ok(refused) => {
            let mut response = match refused {
                None => Redirect::to("/cart/").into_response(),
                Some(why) => {
                    cart_page(&state, &headers, ip, code, Some(why.to_string()), None).await?
                }
            };
            if let Some(cookie) = new_cookie
                && let Ok(value) = header::HeaderValue::from_str(&cookie)
            {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            Ok(response)
        }
        Err(BasketError::Db(e)) => Err(e.into()),
        Err(BasketError::NoSuchProduct) => {
            Err(PageError::not_found("There is no such product for sale."))
        }
        Err(refused) => Err(PageError::bad_request(refused.to_string())),
    }
}

pub async fn apply_code(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let code = values.get("code").cloned().unwrap_or_default();
    let (_, Some(owner)) = owner(&state, &headers).await else {
        return Ok(Redirect::to("/cart/").into_response());
    };
    if code.trim().is_empty() {
        return cart_page(
            &state,
            &headers,
            ip,
            &code,
            Some("Type a code.".into()),
            None,
        )
        .await;
    }
    let snapshot = state.catalog.get().await?;
    match basket::put(
        &state.store,
        &snapshot.view,
        &owner,
        None,
        Some(&code),
        state.now(),
    )
    .await
    {
        Ok(()) => Ok(Redirect::to("/cart/").into_response()),
        Err(BasketError::Db(e)) => Err(e.into()),
        Err(refused) => {
            cart_page(&state, &headers, ip, &code, Some(refused.to_string()), None).await
        }
    }
}

pub async fn clear(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    if let (_, Some(owner)) = owner(&state, &headers).await {
        basket::clear(&state.store, &owner).await?;
    }
    Ok(Redirect::to("/cart/").into_response())
}

#[derive(Template)]
#[template(path = "shop/pay.html")]
struct PayPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    reference: String,
    amount: String,
    url: String,
    fields: Vec<(String, String)>,
}

/// The page that carries the signed form to the processor.
pub(crate) fn pay_page(
    meta: Meta,
    reference: String,
    amount: Money,
    url: String,
    fields: Vec<(String, String)>,
) -> Response {
    render(
        StatusCode::OK,
        &PayPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            reference,
            amount: dollars(amount),
            url,
            fields,
        },
    )
}

pub async fn start_checkout(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    request: Request,
) -> Result<Response, PageError> {
    let headers = request.headers().clone();
    // The buyer's address is sent to the processor (the references send it too).
    let client_ip = ip.map(|a| a.to_string());
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(PageError::not_found("This site does not sell anything."));
    };
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin?next=/cart/").into_response());
    };
    let country = country(&state, Some(&user), ip).await;
    let snapshot = state.catalog.get().await?;
    let outcome = checkout(
        &state.store,
        &snapshot.view,
        store_front,
        &user,
        country.as_deref(),
        client_ip.as_deref(),
        state.now(),
    )
    .await;
    match outcome {
        Ok(next) => Ok(match next {
            Checkout::Free { order } => {
                Redirect::to(&format!("/orders/{}/", order.id)).into_response()
            }
            Checkout::Pay { order, url, fields } => {
                let mut meta = Meta::new(&state, "/checkout/", "Payment", "Payment");
                meta.signed_in = Some(user.email.clone());
                pay_page(
                    meta,
                    order.reference_number.clone(),
                    order.amount_due(),
                    url,
                    fields,
                )
            }
        }),
        Err(BasketError::Db(error)) => Err(error.into()),
        Err(refused) => {
            cart_page(
                &state,
                &headers,
                ip,
                "",
                None,
                Some(Flash {
                    kind: "error",
                    message: format!("Checkout did not go through: {refused}."),
                }),
            )
            .await
        }
    }
}

/// `POST /checkout/result/`: the browser's copy. Answered with a redirect, so a reload
/// does not post it again.
pub async fn browser_result(
    State(state): State<AppState>,
    Form(form): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    match take_result(&state, &form, Channel::Browser).await {
        Ok(Paid::Bulk(order)) => Ok(Redirect::to(&format!(
            "/ecommerce/bulk/receipt/?hash={}",
            order.unique_id
        ))
        .into_response()),
        Ok(Paid::Order(order)) => Ok(match order.state {
            OrderState::Fulfilled => {
                Redirect::to(&format!("/orders/{}/?paid=1", order.id)).into_response()
            }
            // Pending, or a payment taken but held for staff: the receipt says which.
            OrderState::Pending => Redirect::to(&format!("/orders/{}/", order.id)).into_response(),
            _ if order.flag.is_some() => {
                Redirect::to(&format!("/orders/{}/", order.id)).into_response()
            }
            other => Redirect::to(&format!("/cart/?payment={other}")).into_response(),
        }),
        Err(PaymentError::BadSignature(_)) => Err(PageError::forbidden(
            "The payment result could not be verified.",
        )),
        Err(PaymentError::UnknownOrder(_)) => Err(PageError::not_found("There is no such order.")),
        Err(PaymentError::Db(error)) => Err(error.into()),
    }
}

pub struct OrderRow {
    pub id: i64,
    pub reference: String,
    pub date: String,
    pub item: String,
    pub total: String,
    pub state: OrderState,
}

#[derive(Template)]
#[template(path = "shop/orders.html")]
struct OrdersPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    orders: Vec<OrderRow>,
}

pub async fn history(
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to("/signin?next=/orders/").into_response());
    };
    let db = state.store.db();
    let list = orders::of_purchaser(db, user.id).await?;
    let mut rows = Vec::with_capacity(list.len());
    for order in list {
        let item = orders::lines(db, order.id)
            .await
            .ok()
            .and_then(|l| l.first().map(|l| l.description.clone()))
            .unwrap_or_default();
        rows.push(OrderRow {
            id: order.id,
            date: text::date(order.created_on),
            total: dollars(order.amount_due()),
            reference: order.reference_number,
            state: order.state,
            item,
        });
    }
    let mut meta = Meta::new(&state, "/orders/", "Your orders", "Your orders");
    meta.signed_in = Some(user.email);
    Ok(render(
        StatusCode::OK,
        &OrdersPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            orders: rows,
        },
    ))
}

#[derive(Template)]
#[template(path = "shop/receipt.html")]
struct ReceiptPage {
    meta: Meta,
    asset_css: &'static str,
    asset_htmx: &'static str,
    reference: String,
    date: String,
    state: OrderState,
    fulfilled: bool,
    note: Option<String>,
    lines: Vec<(String, String, String)>,
    subtotal: String,
    tax: Option<String>,
    total: String,
    card: Option<String>,
    id: i64,
    reasons: &'static [&'static str],
}

pub async fn receipt(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    RawQuery(query): RawQuery,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to(&format!("/signin?next=/orders/{id}/")).into_response());
    };
    let db = state.store.db();
    let order = match orders::find(db, id).await? {
        Some(order) if order.purchaser_id == user.id => order,
        _ => return Err(PageError::not_found(format!("You have no order {id}."))),
    };
    let lines = orders::lines(db, id).await?;
    let transactions = orders::transactions(db, id).await?;
    let card = transactions
        .iter()
        .filter_map(|t| serde_json::from_str::<HashMap<String, String>>(&t.data).ok())
        .find_map(|data| data.get("req_card_number").cloned());
    let fulfilled = order.state == OrderState::Fulfilled;
    // A payment CyberSource took that no enrollment came of: the learner must not read
    // "nothing was charged", nor pay again.
    let held = services::commerce::held::unaccounted(&order, &transactions);
    let held_total = Money::from_minor(held.iter().map(|t| t.amount.minor).sum());
    let note = match order.state {
        _ if !held.is_empty() && fulfilled => Some(format!(
            "You are enrolled. We also received a second payment of {} for this order: our staff have been told and will refund it.",
            dollars(held_total)
        )),
        _ if !held.is_empty() => Some(format!(
            "We received your payment of {}, but could not enroll you automatically. Our staff have been told and will enroll you or refund you; you do not need to pay again.",
            dollars(held_total)
        )),
        OrderState::Fulfilled if Params::parse(query.as_deref()).get("paid").is_some() => {
            Some("Thank you: your payment went through and you are enrolled.".to_string())
        }
        OrderState::Pending => Some("We are waiting for the payment result.".to_string()),
        OrderState::Errored | OrderState::Declined | OrderState::Canceled => {
            Some("This order was not paid; nothing was charged.".to_string())
        }
        _ => None,
    };
    let mut meta = Meta::new(&state, &format!("/orders/{id}/"), "Receipt", "Receipt");
    meta.signed_in = Some(user.email);
    Ok(render(
        StatusCode::OK,
        &ReceiptPage {
            meta,
            asset_css: assets::CSS,
            asset_htmx: assets::HTMX,
            date: text::date(order.created_on),
            state: order.state,
            fulfilled,
            note,
            lines: lines
                .iter()
                .map(|l| (l.description.clone(), dollars(l.list), dollars(l.price)))
                .collect(),
            subtotal: dollars(order.total),
            tax: (order.tax > Money::ZERO).then(|| {
                format!(
                    "{} {} %: {}",
                    order.tax_rate_name.clone().unwrap_or_default(),
                    order.tax_rate.clone().unwrap_or_default(),
                    dollars(order.tax)
                )
            }),
            total: dollars(order.amount_due()),
            reference: order.reference_number,
            card,
            id,
            reasons: &store::commerce::refund_requests::REASONS,
        },
    ))
}

/// The receipt's refund request form.
pub async fn refund_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    Form(values): Form<HashMap<String, String>>,
) -> Result<Response, PageError> {
    let Some(user) = current_user(&state, &headers).await else {
        return Ok(Redirect::to(&format!("/signin?next=/orders/{id}/")).into_response());
    };
    let get = |k: &str| values.get(k).map(String::as_str).unwrap_or_default();
    let ask = refunds::Ask {
        order_id: id,
        reason: get("refund_reason"),
        reason_text: get("refund_reason_text"),
        consent: values.contains_key("consent_given"),
    };
    match ask_refund(&state, user.id, &ask).await {
        Ok(()) => Ok(super::account::message(
            &state,
            StatusCode::OK,
            "Refund requested",
            "We received your request and will answer by email.".to_string(),
            vec![("/orders/", "Your orders")],
        )),
        Err(RequestRefusal::Db(error)) => Err(error.into()),
        Err(RequestRefusal::NoSuchOrder) => {
            Err(PageError::not_found(format!("You have no order {id}.")))
        }
        Err(refused) => Err(PageError::bad_request(format!(
            "The request was not sent: {refused}."
        ))),
    }
}
