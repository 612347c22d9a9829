//! Payments taken without fulfilment, and what staff do with them. A payment CyberSource
//! accepted that Registrar could not turn into an enrollment (see `payment`'s
//! `CAPTURED_WITHOUT_FULFILMENT`: the order was no longer pending, a second payment of one
//! order, the amount, a code used up, the learner already enrolled) is kept on its order and
//! the order flagged. From the staff order page, staff either refund that payment through
//! CyberSource, or fulfil the held order after all. The flag is cleared once no payment of
//! the order is left unaccounted for.

use chrono::{DateTime, Utc};
use domain::commerce::order::OrderState;
use integrations::cybersource::refunds::{RefundError, Refunds};
use jobs::Job as _;
use sea_orm::DbErr;
use serde_json::json;
use store::Store;
use store::catalog::read::CatalogView;
use store::commerce::orders::{self, NewTransaction, Order, TransactionRow};

use super::fulfilment;
use crate::crm::{Deal, SyncDeal};

#[derive(Debug, thiserror::Error)]
pub enum HeldError {
    #[error("there is no such order")]
    NoSuchOrder,
    #[error("the order has no captured payment {0} left to refund")]
    NoSuchPayment(String),
    #[error(
        "only an errored, canceled or declined order with a captured payment can be fulfilled this way; this one is {0}"
    )]
    NotHeld(OrderState),
    #[error("refunds through CyberSource are not configured")]
    NotConfigured,
    #[error(transparent)]
    Processor(RefundError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The payment a refund row gives back, when it names one (refunds of one payment do).
fn refund_of(refund: &TransactionRow) -> Option<String> {
    serde_json::from_str::<serde_json::Value>(&refund.data)
        .ok()?
        .get("refund_of")?
        .as_str()
        .map(str::to_string)
}

/// The payments of an order not given back: each refund that names its payment gave back
/// that one; a refund of the whole order (from the refunds page, which names none) gave back
/// the payment its fulfilment rested on, the earliest not otherwise refunded.
fn kept_payments(transactions: &[TransactionRow]) -> Vec<TransactionRow> {
    let payments: Vec<&TransactionRow> = transactions
        .iter()
        .filter(|t| t.kind == "payment")
        .collect();
    let mut refunded: Vec<String> = transactions
        .iter()
        .filter(|t| t.kind == "refund")
        .filter_map(refund_of)
        .collect();
    for _ in transactions
        .iter()
        .filter(|t| t.kind == "refund" && refund_of(t).is_none())
    {
        if let Some(first) = payments
            .iter()
            .find(|p| !refunded.contains(&p.transaction_id))
        {
            refunded.push(first.transaction_id.clone());
        }
    }
    payments
        .into_iter()
        .filter(|p| !refunded.contains(&p.transaction_id))
        .cloned()
        .collect()
}

/// The payment a fulfilled order's enrollment rests on: the earliest kept.
pub fn backing_payment(order: &Order, transactions: &[TransactionRow]) -> Option<TransactionRow> {
    (order.state == OrderState::Fulfilled)
        .then(|| kept_payments(transactions).into_iter().next())
        .flatten()
}

/// The captured payments of an order that no fulfilment or refund accounts for: every
/// payment kept, less the one a fulfilled order rests on.
pub fn unaccounted(order: &Order, transactions: &[TransactionRow]) -> Vec<TransactionRow> {
    let backing = usize::from(order.state == OrderState::Fulfilled);
    kept_payments(transactions)
        .into_iter()
        .skip(backing)
        .collect()
}

/// Takes the learner's and the order's locks (in the order payment settling takes them)
/// and reads the order as it then stands.
async fn locked(db: &impl sea_orm::ConnectionTrait, order_id: i64) -> Result<Order, HeldError> {
    let order = orders::find(db, order_id)
        .await?
        .ok_or(HeldError::NoSuchOrder)?;
    store::accounts::lock(db, &[order.purchaser_id]).await?;
    orders::lock(db, order_id).await?;
    orders::find(db, order_id)
        .await?
        .ok_or(HeldError::NoSuchOrder)
}

async fn settle_flag(
    db: &impl sea_orm::ConnectionTrait,
    order_id: i64,
) -> Result<Order, HeldError> {
    let order = orders::find(db, order_id)
        .await?
        .ok_or(HeldError::NoSuchOrder)?;
    let left = unaccounted(&order, &orders::transactions(db, order_id).await?);
    if left.is_empty() && order.flag.is_some() {
        orders::clear_flag(db, order_id).await?;
        return Ok(orders::find(db, order_id).await?.unwrap_or(order));
    }
    Ok(order)
}

/// Refunds one unaccounted payment through CyberSource's REST API; the order's state and
/// enrollments stay as they are.
pub async fn refund_payment(
    store: &Store,
    client: Option<&Refunds>,
    order_id: i64,
    transaction_id: &str,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Order, HeldError> {
    // Under the locks from the choice of the payment to the record of its refund (the
    // processor is called while they are held): a second click, or another staff member
    // fulfilling for the same payment, waits and then finds it accounted for.
    let txn = store.write().await?;
    let order = locked(&txn, order_id).await?;
    let transactions = orders::transactions(&txn, order_id).await?;
    let Some(payment) = unaccounted(&order, &transactions)
        .into_iter()
        .find(|t| t.transaction_id == transaction_id)
    else {
        return Err(HeldError::NoSuchPayment(transaction_id.to_string()));
    };
    let client = client.ok_or(HeldError::NotConfigured)?;
    let (refund_id, response) = match client
        .refund(
            &payment.transaction_id,
            &order.reference_number,
            &payment.amount.to_decimal().to_string(),
            &order.currency,
        )
        .await
    {
        Ok(done) => (done.id, done.response),
        // Refunded before (our record of it was lost).
        Err(RefundError::Duplicate) => (
            format!("duplicate-{}", payment.transaction_id),
            r#"{"reason":"DUPLICATE_REQUEST"}"#.to_string(),
        ),
        Err(other) => return Err(HeldError::Processor(other)),
    };
    orders::record_transaction(
        &txn,
        &NewTransaction {
            order_id,
            transaction_id: &refund_id,
            kind: "refund",
            amount: payment.amount,
            data: &json!({"refund_of": payment.transaction_id, "by": by, "response": response})
                .to_string(),
        },
        now,
    )
    .await?;
    SyncDeal {
        deal: Deal::Order(order_id),
    }
    .enqueue(&txn)
    .await?;
    let order = settle_flag(&txn, order_id).await?;
    txn.commit().await?;
    tracing::info!(order = order_id, payment = %payment.transaction_id, staff = by, "captured payment refunded");
    Ok(order)
}

/// Fulfils a held order after all: staff decided the learner gets what they paid for.
pub async fn fulfil(
    store: &Store,
    view: &CatalogView,
    site_url: &str,
    order_id: i64,
    by: &str,
    now: DateTime<Utc>,
) -> Result<Order, HeldError> {
    let txn = store.write().await?;
    let order = locked(&txn, order_id).await?;
    let held = matches!(
        order.state,
        OrderState::Errored | OrderState::Canceled | OrderState::Declined
    );
    let payments = unaccounted(&order, &orders::transactions(&txn, order_id).await?);
    let (true, Some(payment)) = (held, payments.first()) else {
        return Err(HeldError::NotHeld(order.state));
    };
    let cause = format!(
        "fulfilled by {by} for captured payment {}",
        payment.transaction_id
    );
    if !orders::transition(
        &txn,
        order_id,
        order.state,
        OrderState::Fulfilled,
        &cause,
        now,
    )
    .await?
    {
        return Err(HeldError::NotHeld(order.state));
    }
    SyncDeal {
        deal: Deal::Order(order_id),
    }
    .enqueue(&txn)
    .await?;
    fulfilment::grant(&txn, view, site_url, &order, now).await?;
    let order = settle_flag(&txn, order_id).await?;
    txn.commit().await?;
    tracing::info!(order = order_id, staff = by, "held order fulfilled");
    Ok(order)
}
