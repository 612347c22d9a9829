//! Bulk seat purchases (xPRO §2.4, §3.6): anyone with an email address buys N seats of an
//! xPRO run or program, optionally with a bulk discount code and a contract number, and
//! pays through Secure Acceptance like any order. Fulfilment generates one single-use,
//! 100 %-off code per seat for that product and emails the buyer a link to the receipt
//! page, which lists the codes and offers them as a CSV. A learner redeems a code in the
//! basket, which enrolls them like any free order.

use chrono::{DateTime, Utc};
use domain::Money;
use domain::catalog::Site;
use domain::commerce::order::OrderState;
use domain::commerce::pricing::Kind;
use integrations::cybersource::secure_acceptance;
use jobs::Job as _;
use sea_orm::{ConnectionTrait, DbErr};
use store::Store;
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::bulk_orders::{self, BulkOrder, NewBulkOrder};
use store::commerce::discounts::{self, DiscountRow};

use super::checkout::{Checkout, money};
use super::discount_admin;
use super::{Item, Storefront, item};
use crate::crm::{Deal, SyncDeal};
use crate::emails;
use crate::mail::Mail;

/// The most seats one purchase may buy.
pub const MAX_SEATS: i32 = 10_000;

/// A seat purchase as the buyer asked for it.
pub struct Purchase<'a> {
    pub email: &'a str,
    pub num_seats: i32,
    pub product_id: i64,
    /// A bulk discount code; empty for none.
    pub code: &'a str,
    pub contract_number: Option<&'a str>,
}

/// Why a purchase was refused; the messages are xPRO's.
#[derive(Debug, thiserror::Error)]
pub enum BulkError {
    #[error("Invalid email")]
    Email,
    #[error("num_seats must be a number")]
    Seats,
    #[error("num_seats must be from 1 to {MAX_SEATS}")]
    SeatCount,
    #[error("There is no such product for sale")]
    NoSuchProduct,
    #[error("This product is not sold in bulk")]
    NotSoldInBulk,
    #[error("This contract number has already been used")]
    ContractUsed,
    #[error("Invalid coupon code")]
    InvalidCode,
    #[error(transparent)]
    Db(#[from] DbErr),
}

impl BulkError {
    /// The request field the refusal is about, if one.
    pub fn field(&self) -> Option<&'static str> {
        match self {
            BulkError::Email => Some("email"),
            BulkError::Seats | BulkError::SeatCount => Some("num_seats"),
            BulkError::NoSuchProduct | BulkError::NotSoldInBulk => Some("product_id"),
            BulkError::ContractUsed => Some("contract_number"),
            BulkError::InvalidCode => Some("discount_code"),
            BulkError::Db(_) => None,
        }
    }
}

/// An xPRO product sold in bulk.
pub fn bulk_item(view: &CatalogView, product_id: i64) -> Result<Item, BulkError> {
    let item = item(view, product_id).ok_or(BulkError::NoSuchProduct)?;
    if item.site != Site::Xpro {
        return Err(BulkError::NotSoldInBulk);
    }
    Ok(item)
}

/// The bulk discount a code names, if it may price this product now (xPRO
/// `B2BCoupon.get_unexpired_coupon`: window, product, and a single-use one not yet used on
/// a fulfilled or refunded purchase).
pub async fn coupon(
    db: &impl ConnectionTrait,
    code: &str,
    product_id: i64,
    now: DateTime<Utc>,
) -> Result<DiscountRow, BulkError> {
    let discount = discounts::by_code(db, code)
        .await?
        .filter(|d| d.bulk)
        .ok_or(BulkError::InvalidCode)?;
    let usage = discounts::bulk_usage(db, discount.id).await?;
    discount
        .rules
        .check(product_id, None, usage, now)
        .map_err(|_| BulkError::InvalidCode)?;
    Ok(discount)
}

/// Seats × list price, less the discount taken off the whole (xPRO takes the percent of
/// the total; rounding is half-up here as everywhere, where xPRO rounds half-even).
/// (discount, total).
pub fn price(list: Money, seats: i32, discount: Option<Kind>) -> (Money, Money) {
    let gross = Money::from_minor(list.minor * i64::from(seats));
    let total = discount.map_or(gross, |k| k.apply(gross));
    (Money::from_minor(gross.minor - total.minor), total)
}

/// Creates the pending purchase, in one transaction (a refusal leaves nothing behind);
/// fulfils it at once when it costs nothing.
pub async fn checkout(
    store: &Store,
    view: &CatalogView,
    store_front: &Storefront,
    purchase: &Purchase<'_>,
    now: DateTime<Utc>,
) -> Result<Checkout<BulkOrder>, BulkError> {
    let txn = store.write().await?;
    let next = checkout_in(&txn, view, store_front, purchase, now).await?;
    txn.commit().await?;
    Ok(next)
}

async fn checkout_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    store_front: &Storefront,
    purchase: &Purchase<'_>,
    now: DateTime<Utc>,
) -> Result<Checkout<BulkOrder>, BulkError> {
    let email = domain::accounts::Email::parse(purchase.email).map_err(|_| BulkError::Email)?;
    if !(1..=MAX_SEATS).contains(&purchase.num_seats) {
        return Err(BulkError::SeatCount);
    }
    let item = bulk_item(view, purchase.product_id)?;
    let contract = purchase
        .contract_number
        .map(str::trim)
        .filter(|c| !c.is_empty());
    if let Some(contract) = contract {
        bulk_orders::lock_contract(db, contract).await?;
        if bulk_orders::contract_used(db, contract).await? {
            return Err(BulkError::ContractUsed);
        }
    }
    let discount = match purchase.code.trim() {
        "" => None,
        code => Some(coupon(db, code, item.product_id, now).await?),
    };
    // Locked before the purchase's row points at it (that insert takes a share lock on the
    // code on PostgreSQL; two free purchases with one code would then deadlock in
    // `obstacle`).
    if let Some(d) = &discount {
        discounts::lock(db, d.id).await?;
    }
    let (off, total) = price(
        item.list,
        purchase.num_seats,
        discount.as_ref().map(|d| d.rules.kind),
    );
    let order = bulk_orders::create(
        db,
        &NewBulkOrder {
            email: email.as_str(),
            num_seats: purchase.num_seats,
            product_version_id: item.version_id,
            per_item: item.list,
            discount: off,
            total,
            currency: &store_front.currency,
            discount_id: discount.as_ref().map(|d| d.id),
            contract_number: contract,
        },
        &store_front.bulk_reference_stem(),
        now,
    )
    .await?;
    SyncDeal {
        deal: Deal::Bulk(order.id),
    }
    .enqueue(db)
    .await?;
    if total == Money::ZERO {
        if let Some(refused) = obstacle(db, &order).await? {
            return Err(refused);
        }
        if bulk_orders::transition(
            db,
            order.id,
            OrderState::Pending,
            OrderState::Fulfilled,
            "no payment required",
            now,
        )
        .await?
        {
            complete(db, view, &store_front.base_url, &order, now).await?;
        }
        let order = bulk_orders::find(db, order.id).await?.unwrap_or(order);
        return Ok(Checkout::Free { order });
    }
    let fields = signed_fields(store_front, &order, &item, now);
    Ok(Checkout::Pay {
        order,
        url: store_front.processor.url.clone(),
        fields,
    })
}

/// Why a paid (or free) purchase must not be completed now, if it must not: its contract
/// number or its one-time code was used by another purchase fulfilled since checkout.
/// Both are held (locked) first, so two purchases decide one after the other.
pub async fn obstacle(
    db: &impl ConnectionTrait,
    order: &BulkOrder,
) -> Result<Option<BulkError>, DbErr> {
    if let Some(contract) = order.contract_number.as_deref() {
        bulk_orders::lock_contract(db, contract).await?;
        if bulk_orders::contract_used(db, contract).await? {
            return Ok(Some(BulkError::ContractUsed));
        }
    }
    if let Some(id) = order.discount_id
        && super::fulfilment::discount_limit(db, id, None, true)
            .await?
            .is_some()
    {
        return Ok(Some(BulkError::InvalidCode));
    }
    Ok(None)
}

/// Where the buyer reads the receipt and the codes.
pub fn receipt_url(base_url: &str, order: &BulkOrder) -> String {
    format!(
        "{}/ecommerce/bulk/receipt/?hash={}",
        base_url.trim_end_matches('/'),
        order.unique_id
    )
}

/// Where a learner redeems one code of a product (xPRO `make_checkout_url`).
pub fn redeem_url(base_url: &str, product_id: i64, code: &str) -> String {
    format!(
        "{}/redeem/?product={product_id}&code={code}",
        base_url.trim_end_matches('/'),
    )
}

/// xPRO's B2B request: the B2C envelope with the seat count and the total as one line
/// (the reference sends the total as the unit price too), no tax, the contract number.
fn signed_fields(
    store_front: &Storefront,
    order: &BulkOrder,
    item: &Item,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let processor = &store_front.processor;
    let kind = match item.sells {
        Purchasable::Run(_) => "courses | course run",
        Purchasable::Program(_) => "courses | program",
    };
    let content_id = match item.sells {
        Purchasable::Run(id) | Purchasable::Program(id) => id,
    };
    // The browser's copy of the result is posted to the one result page, which records it
    // and then shows this purchase's receipt (xPRO points at its SPA's receipt and form).
    let result = format!(
        "{}/checkout/result/",
        store_front.base_url.trim_end_matches('/')
    );
    let fields = [
        ("access_key", processor.access_key.clone()),
        ("amount", money(order.total)),
        ("currency", order.currency.clone()),
        ("locale", "en-us".to_string()),
        ("item_0_code", "enrollment_code".to_string()),
        (
            "item_0_name",
            format!("Enrollment codes for {}", item.description)
                .chars()
                .take(254)
                .collect(),
        ),
        ("item_0_quantity", order.num_seats.to_string()),
        (
            "item_0_sku",
            format!("enrollment_code-{kind}-{content_id}")
                .chars()
                .take(254)
                .collect(),
        ),
        ("item_0_tax_amount", "0".to_string()),
        ("item_0_unit_price", money(order.total)),
        ("line_item_count", "1".to_string()),
        (
            "merchant_defined_data1",
            order.contract_number.clone().unwrap_or_default(),
        ),
        ("reference_number", order.reference_number.clone()),
        ("profile_id", processor.profile_id.clone()),
        (
            "signed_date_time",
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("override_custom_receipt_page", result.clone()),
        ("override_custom_cancel_page", result),
        ("transaction_type", "sale".to_string()),
        (
            "transaction_uuid",
            format!("{:032x}", rand::random::<u128>()),
        ),
        ("unsigned_field_names", String::new()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    secure_acceptance::sign(&processor.secret_key, fields)
}

/// The name of a purchase's code batch (xPRO `create_coupons`).
fn batch_name(order: &BulkOrder, coupon: Option<&str>) -> String {
    match (order.contract_number.as_deref(), coupon) {
        (Some(contract), Some(code)) => format!("order_{} {contract} {code}", order.id),
        (Some(contract), None) => contract.to_string(),
        (None, Some(code)) => format!("order_{} {code}", order.id),
        (None, None) => format!("CouponPayment for order #{}", order.id),
    }
}

/// What a purchase grants once paid, in the caller's transaction: a single-use 100 %-off
/// code per seat for the product, and the receipt email.
pub async fn complete(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    order: &BulkOrder,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let coupon = match order.discount_id {
        Some(id) => discounts::find(db, id).await?.and_then(|d| d.code),
        None => None,
    };
    let batch = batch_name(order, coupon.as_deref());
    let transaction = order
        .contract_number
        .as_deref()
        .unwrap_or(&order.reference_number);
    let codes = discount_admin::seat_codes(
        db,
        &discount_admin::Seats {
            count: order.num_seats,
            product_id: order.product_id,
            payment_type: "sales",
            transaction,
            batch: &batch,
            activation: None,
            expiration: None,
        },
        now,
    )
    .await?;
    let ids: Vec<i64> = codes.into_iter().map(|(id, _)| id).collect();
    bulk_orders::attach_codes(db, order.id, &ids).await?;
    let title = item(view, order.product_id)
        .map_or_else(|| format!("product {}", order.product_id), |i| i.title);
    Mail::compose(
        &order.email,
        "Enrollment Code Purchase Receipt",
        &emails::B2bReceipt {
            reference: &order.reference_number,
            title,
            seats: order.num_seats.into(),
            per_seat: order.per_item.to_string(),
            discount: order.discount.to_string(),
            total: order.total.to_string(),
            currency: &order.currency,
            contract: order.contract_number.as_deref().unwrap_or("none"),
            link: receipt_url(site_url, order),
        },
    )
    .send(db)
    .await
}
