//! The processor's answer. CyberSource posts the same signed result twice: through the
//! learner's browser (the receipt page) and server to server (the merchant post). Either
//! may come first, either may repeat, and the process may stop between receiving one and
//! acting on it. So a post is first checked (signature, in constant time) and recorded with
//! a job to process it, in one transaction; then it is processed at once, and the job
//! processes it again after a crash. Processing moves a pending order once (a conditional
//! update), so whichever delivery comes second changes nothing.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::Money;
use domain::commerce::order::{Decision, OrderState};
use integrations::cybersource::secure_acceptance;
use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::Store;
use store::catalog::read::CatalogView;
use store::commerce::orders::{self, NewTransaction, Order, Received};

use super::{Storefront, fulfilment};
use crate::Context;
use crate::openedx::retry;

/// Which copy of the result this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Browser,
    Merchant,
}

impl Channel {
    fn as_str(self) -> &'static str {
        match self {
            Channel::Browser => "browser",
            Channel::Merchant => "merchant",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PaymentError {
    #[error("the signature does not match: {0}")]
    BadSignature(String),
    #[error("no order has the reference {0:?}")]
    UnknownOrder(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Checks and records a post with its processing job; the recorded post's id and order.
pub async fn receive(
    store: &Store,
    store_front: &Storefront,
    form: &HashMap<String, String>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<(i64, i64), PaymentError> {
    let payload = serde_json::to_string(form).unwrap_or_default();
    let reference = form.get("req_reference_number").map(String::as_str);
    let transaction_id = form.get("transaction_id").map(String::as_str);
    let decision = form.get("decision").map(String::as_str);
    let signature = secure_acceptance::verify(&store_front.processor.secret_key, form);
    let order = match reference.and_then(|r| store_front.order_id(r)) {
        Some(id) => orders::find(store.db(), id).await?,
        None => None,
    };
    let txn = store.write().await?;
    let mut record = Received {
        order_id: order.as_ref().map(|o| o.id),
        reference_number: reference,
        transaction_id,
        decision,
        channel: channel.as_str(),
        signature_valid: signature.is_ok(),
        outcome: "received",
        payload: &payload,
    };
    if let Err(e) = signature {
        record.outcome = "refused: bad signature";
        orders::record_received(&txn, &record, now).await?;
        txn.commit().await?;
        tracing::warn!(
            channel = channel.as_str(),
            reference,
            "a payment result with a bad signature was refused"
        );
        return Err(PaymentError::BadSignature(e.to_string()));
    }
    let Some(order) = order else {
        record.outcome = "refused: unknown order";
        orders::record_received(&txn, &record, now).await?;
        txn.commit().await?;
        return Err(PaymentError::UnknownOrder(
            reference.unwrap_or_default().to_string(),
        ));
    };
    let id = orders::record_received(&txn, &record, now).await?;
    jobs::push(
        &txn,
        &ProcessPayment { response_id: id },
        Enqueue {
            unique_key: Some(format!("response:{id}")),
            run_at: None,
        },
    )
    .await?;
    txn.commit().await?;
    Ok((id, order.id))
}

/// The amount and currency a result reports, checked against what the order asked for.
fn mismatch(form: &HashMap<String, String>, order: &Order) -> Option<String> {
    let paid = form
        .get("req_amount")
        .or_else(|| form.get("auth_amount"))
        .and_then(|a| Money::parse(a).ok());
    let currency = form.get("req_currency").map(String::as_str);
    if paid == Some(order.amount_due()) && currency == Some(order.currency.as_str()) {
        return None;
    }
    Some(format!(
        "paid {} {} but the order asks {} {}",
        paid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        currency.unwrap_or("?"),
        order.amount_due(),
        order.currency
    ))
}

/// Acts on a recorded post once; the order as it then stands. A post already processed,
/// or about an order already settled, changes nothing.
pub async fn process(
    store: &Store,
    view: &CatalogView,
    response_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Order>, DbErr> {
    let txn = store.write().await?;
    let Some((Some(order_id), payload)) = orders::unprocessed(&txn, response_id).await? else {
        return Ok(None);
    };
    let form: HashMap<String, String> = serde_json::from_str(&payload).unwrap_or_default();
    let Some(order) = orders::find(&txn, order_id).await? else {
        return Ok(None);
    };
    let outcome = settle(&txn, view, &order, &form, now).await?;
    orders::mark_processed(&txn, response_id, &outcome).await?;
    txn.commit().await?;
    tracing::info!(order = order.id, response = response_id, %outcome, "payment result processed");
    orders::find(store.db(), order.id).await
}

async fn settle(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    order: &Order,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    if order.state != OrderState::Pending {
        return Ok(format!("no change: the order is already {}", order.state));
    }
    let decision = Decision::parse(form.get("decision").map(String::as_str));
    let transaction_id = form.get("transaction_id").cloned().unwrap_or_default();
    let mut target = decision.order_state();
    let mut cause = format!(
        "CyberSource {} (reason {}), transaction {transaction_id}",
        form.get("decision")
            .map(String::as_str)
            .unwrap_or("without a decision"),
        form.get("reason_code").map(String::as_str).unwrap_or("?"),
    );
    if target == OrderState::Fulfilled
        && let Some(why) = mismatch(form, order)
    {
        tracing::error!(order = order.id, %why, "payment does not match the order; not fulfilled");
        orders::flag(db, order.id, &why).await?;
        target = OrderState::Errored;
        cause = format!("{cause}; not fulfilled: {why}");
    }
    if !orders::transition(db, order.id, OrderState::Pending, target, &cause, now).await? {
        return Ok("no change: another delivery settled the order".into());
    }
    if !transaction_id.is_empty() {
        let amount = form
            .get("req_amount")
            .and_then(|a| Money::parse(a).ok())
            .unwrap_or(Money::ZERO);
        orders::record_transaction(
            db,
            &NewTransaction {
                order_id: order.id,
                transaction_id: &transaction_id,
                kind: "payment",
                amount,
                data: &serde_json::to_string(form).unwrap_or_default(),
            },
            now,
        )
        .await?;
    }
    if target == OrderState::Fulfilled {
        fulfilment::grant(db, view, order, now).await?;
    }
    Ok(format!("order {target}"))
}

/// Processes a recorded result (after a crash, or if the inline attempt failed).
#[derive(Debug, Serialize, Deserialize)]
pub struct ProcessPayment {
    pub response_id: i64,
}

impl Job for ProcessPayment {
    const KIND: &'static str = "commerce.process_payment";
    const MAX_ATTEMPTS: u32 = 10;
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let view = store::catalog::read::load(ctx.store.db())
            .await
            .map_err(retry)?;
        process(&ctx.store, &view, self.response_id, chrono::Utc::now())
            .await
            .map_err(retry)?;
        Ok(())
    }
}
