//! Checkout: the priced basket becomes a pending order (the learner's pending order for the
//! same product is reused and re-priced, so a double click makes one order: checkouts of
//! one learner take turns on the learner's row), and the browser
//! gets the signed Secure Acceptance form. A basket that costs nothing is fulfilled at once,
//! without the processor.

use chrono::{DateTime, Utc};
use domain::Money;
use integrations::cybersource::secure_acceptance;
use jobs::Job as _;
use sea_orm::ConnectionTrait;
use sha2::{Digest, Sha256};
use store::Store;
use store::accounts::User;
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::baskets::Owner;
use store::commerce::discounts;
use store::commerce::orders::{self, Order, Pricing};

use super::basket::{self, BasketError, Priced};
use super::{Storefront, fulfilment};
use crate::crm::{Deal, SyncDeal};

/// Where the browser goes next, with the order (or bulk purchase) checked out.
#[derive(Debug, Clone)]
pub enum Checkout<O = Order> {
    /// Post these fields to the processor's page.
    Pay {
        order: O,
        url: String,
        fields: Vec<(String, String)>,
    },
    /// Nothing to pay: the order is fulfilled.
    Free { order: O },
}

/// Turns the signed-in learner's basket into an order, in one transaction: a refused
/// checkout leaves nothing behind.
pub async fn checkout(
    store: &Store,
    view: &CatalogView,
    store_front: &Storefront,
    user: &User,
    country: Option<&str>,
    client_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checkout, BasketError> {
    let txn = store.write().await?;
    let next = checkout_in(&txn, view, store_front, user, country, client_ip, now).await?;
    txn.commit().await?;
    Ok(next)
}

async fn checkout_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    store_front: &Storefront,
    user: &User,
    country: Option<&str>,
    client_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Checkout, BasketError> {
    // Checkouts of one learner's basket (two tabs, a double click, a retry) take turns, so
    // the second finds and reuses the first one's pending order.
    store::accounts::lock(db, &[user.id]).await?;
    let owner = Owner::User(user.id);
    let priced = basket::priced(db, view, &owner, country, now)
        .await?
        .ok_or(BasketError::Empty)?;
    if let Some(why) = &priced.blocker {
        return Err(BasketError::NotForSale(why.clone()));
    }
    // The code's row is locked before any row of this checkout points at it: on PostgreSQL
    // such an insert (the order, its redemption) takes a share lock on the code, and two
    // checkouts each holding one while waiting to lock it at fulfilment would deadlock.
    if let Some(discount) = &priced.discount {
        discounts::lock(db, discount.id).await?;
    }
    let tax_rate = priced.tax_rate.as_ref().map(|r| r.percent.to_string());
    let pricing = Pricing {
        product_version_id: priced.item.version_id,
        list: priced.item.list,
        price: priced.quote.price,
        tax: priced.quote.tax,
        tax_country: priced.tax_rate.as_ref().map(|r| r.country.as_str()),
        tax_rate,
        tax_rate_name: priced.tax_rate.as_ref().map(|r| r.name.as_str()),
        currency: &store_front.currency,
        description: &priced.item.description,
        program_run: priced.program_run.as_deref(),
        discount_id: priced.discount.as_ref().map(|d| d.id),
    };
    let order = match orders::pending_for(db, user.id, priced.item.product_id).await? {
        // Re-read: the reused order's totals are the new ones now.
        Some(pending) if orders::reprice(db, pending.id, &pricing, now).await? => {
            orders::find(db, pending.id).await?.unwrap_or(pending)
        }
        _ => orders::create(db, user.id, &pricing, &store_front.reference_stem(), now).await?,
    };
    discounts::redeem(db, pricing.discount_id, order.id, user.id, now).await?;
    SyncDeal {
        deal: Deal::Order(order.id),
    }
    .enqueue(db)
    .await?;
    // Checked out: the order's deal takes over from the basket's.
    SyncDeal {
        deal: Deal::Basket(user.id),
    }
    .enqueue(db)
    .await?;
    if priced.quote.total == Money::ZERO {
        if let Some(why) =
            fulfilment::fulfil_free(db, view, &store_front.base_url, &order, now).await?
        {
            return Err(BasketError::NotForSale(why));
        }
        let order = orders::find(db, order.id).await?.unwrap_or(order);
        return Ok(Checkout::Free { order });
    }
    let fields = signed_fields(store_front, user, &order, &priced, client_ip, now);
    Ok(Checkout::Pay {
        order,
        url: store_front.processor.url.clone(),
        fields,
    })
}

pub(crate) fn money(m: Money) -> String {
    m.to_decimal().to_string()
}

/// The Secure Acceptance request (the reference field list), signed over every field.
fn signed_fields(
    store_front: &Storefront,
    user: &User,
    order: &Order,
    priced: &Priced,
    client_ip: Option<&str>,
    now: DateTime<Utc>,
) -> Vec<(String, String)> {
    let processor = &store_front.processor;
    let (code, sku) = match priced.item.sells {
        Purchasable::Run(id) => ("courses | course run", id),
        Purchasable::Program(id) => ("courses | program", id),
    };
    let receipt = format!(
        "{}/checkout/result/",
        store_front.base_url.trim_end_matches('/')
    );
    let mut fields: Vec<(String, String)> = [
        ("access_key", processor.access_key.clone()),
        ("amount", money(order.amount_due())),
        ("tax_amount", money(order.tax)),
        // CyberSource refuses email-like ids: MITx Online sends a digest of the username.
        (
            "consumer_id",
            format!("{:x}", Sha256::digest(user.username.as_bytes())),
        ),
        ("currency", order.currency.clone()),
        ("locale", "en-us".to_string()),
        ("item_0_code", code.to_string()),
        (
            "item_0_name",
            priced.item.description.chars().take(254).collect(),
        ),
        ("item_0_quantity", "1".to_string()),
        ("item_0_sku", sku.to_string()),
        ("item_0_tax_amount", money(order.tax)),
        ("item_0_unit_price", money(order.total)),
        ("line_item_count", "1".to_string()),
        ("merchant_defined_data1", code.to_string()),
        ("merchant_defined_data2", priced.item.readable_id.clone()),
        ("merchant_defined_data3", "1".to_string()),
        ("reference_number", order.reference_number.clone()),
        ("profile_id", processor.profile_id.clone()),
        (
            "signed_date_time",
            now.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        ),
        ("override_custom_receipt_page", receipt.clone()),
        ("override_custom_cancel_page", receipt),
        ("transaction_type", "sale".to_string()),
        (
            "transaction_uuid",
            format!("{:032x}", rand::random::<u128>()),
        ),
        ("unsigned_field_names", String::new()),
        // Always a string: the reference signs None but its browser posts "null".
        (
            "customer_ip_address",
            client_ip.unwrap_or_default().to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    if let Some(discount) = &priced.discount
        && let Some(code) = &discount.code
    {
        fields.push(("merchant_defined_data4".into(), code.clone()));
        fields.push((
            "merchant_defined_data5".into(),
            discount.payment_type.clone().unwrap_or_default(),
        ));
    }
    secure_acceptance::sign(&processor.secret_key, fields)
}
