//! The processor's answer. CyberSource posts the same signed result twice: through the
//! learner's browser (the receipt page) and server to server (the merchant post). Either
//! may come first, either may repeat, and the process may stop between receiving one and
//! acting on it. So a post is first checked (signature, in constant time) and recorded with
//! a job to process it, in one transaction; then it is processed at once, and the job
//! processes it again after a crash. Processing moves a pending order once (a conditional
//! update), so whichever delivery comes second changes nothing. Orders and bulk seat
//! purchases are paid alike; the reference number says which one a result is about.

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
use store::commerce::bulk_orders::{self, BulkOrder};
use store::commerce::orders::{self, NewTransaction, Order, Received};

use super::{Reference, Storefront, bulk, fulfilment};
use crate::Context;
use crate::crm::{Deal, SyncDeal};
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

/// What a result was about, as it stands.
#[derive(Debug, Clone)]
pub enum Paid {
    Order(Order),
    Bulk(BulkOrder),
}

impl Paid {
    pub fn state(&self) -> OrderState {
        match self {
            Paid::Order(o) => o.state,
            Paid::Bulk(b) => b.state,
        }
    }

    /// Read again, after processing changed it (or failed to).
    pub async fn reload(&self, db: &impl ConnectionTrait) -> Result<Option<Paid>, DbErr> {
        Ok(match self {
            Paid::Order(o) => orders::find(db, o.id).await?.map(Paid::Order),
            Paid::Bulk(b) => bulk_orders::find(db, b.id).await?.map(Paid::Bulk),
        })
    }
}

/// Checks and records a post with its processing job; the recorded post's id and what it
/// was about.
pub async fn receive(
    store: &Store,
    store_front: &Storefront,
    form: &HashMap<String, String>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<(i64, Paid), PaymentError> {
    let payload = serde_json::to_string(form).unwrap_or_default();
    let reference = form.get("req_reference_number").map(String::as_str);
    let transaction_id = form.get("transaction_id").map(String::as_str);
    let decision = form.get("decision").map(String::as_str);
    let signature = secure_acceptance::verify(&store_front.processor.secret_key, form);
    let db = store.db();
    let paid = match reference.and_then(|r| store_front.reference(r)) {
        Some(Reference::Order(id)) => orders::find(db, id).await?.map(Paid::Order),
        Some(Reference::Bulk(id)) => bulk_orders::find(db, id).await?.map(Paid::Bulk),
        None => None,
    };
    let txn = store.write().await?;
    let mut record = Received {
        order_id: None,
        bulk_order_id: None,
        reference_number: reference,
        transaction_id,
        decision,
        channel: channel.as_str(),
        signature_valid: signature.is_ok(),
        outcome: "received",
        payload: &payload,
    };
    match &paid {
        Some(Paid::Order(o)) => record.order_id = Some(o.id),
        Some(Paid::Bulk(b)) => record.bulk_order_id = Some(b.id),
        None => {}
    }
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
    let Some(paid) = paid else {
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
    Ok((id, paid))
}

/// Where a result moves a pending order, and why; `mismatch` when the processor was paid
/// an amount or currency other than the order's.
struct Verdict {
    target: OrderState,
    cause: String,
    mismatch: Option<String>,
}

fn verdict(form: &HashMap<String, String>, due: Money, currency: &str) -> Verdict {
    let decision = Decision::parse(form.get("decision").map(String::as_str));
    let mut verdict = Verdict {
        target: decision.order_state(),
        cause: format!(
            "CyberSource {} (reason {}), transaction {}",
            form.get("decision")
                .map(String::as_str)
                .unwrap_or("without a decision"),
            form.get("reason_code").map(String::as_str).unwrap_or("?"),
            form.get("transaction_id")
                .map(String::as_str)
                .unwrap_or_default(),
        ),
        mismatch: None,
    };
    if verdict.target != OrderState::Fulfilled {
        return verdict;
    }
    let paid = form
        .get("req_amount")
        .or_else(|| form.get("auth_amount"))
        .and_then(|a| Money::parse(a).ok());
    let paid_currency = form.get("req_currency").map(String::as_str);
    if paid == Some(due) && paid_currency == Some(currency) {
        return verdict;
    }
    let why = format!(
        "paid {} {} but the order asks {due} {currency}",
        paid.map(|p| p.to_string()).unwrap_or_else(|| "?".into()),
        paid_currency.unwrap_or("?"),
    );
    verdict.target = OrderState::Errored;
    verdict.cause = format!("{}; not fulfilled: {why}", verdict.cause);
    verdict.mismatch = Some(why);
    verdict
}

/// Acts on a recorded post once; what it was about, as it then stands. A post already
/// processed, or about an order already settled, changes nothing. `site_url` is for the
/// links the emails it sends carry.
pub async fn process(
    store: &Store,
    view: &CatalogView,
    site_url: &str,
    response_id: i64,
    now: DateTime<Utc>,
) -> Result<Option<Paid>, DbErr> {
    let txn = store.write().await?;
    let Some(post) = orders::unprocessed(&txn, response_id).await? else {
        return Ok(None);
    };
    // This commit need not wait for the disk: the post and its job are already durable,
    // and after a crash the job processes the post again.
    if txn.get_database_backend() == sea_orm::DatabaseBackend::Postgres {
        txn.execute_unprepared("SET LOCAL synchronous_commit TO OFF")
            .await?;
    }
    let form: HashMap<String, String> = serde_json::from_str(&post.payload).unwrap_or_default();
    let paid = match (post.order, post.bulk_order_id) {
        (Some(order), _) => Some(Paid::Order(order)),
        (None, Some(id)) => bulk_orders::find(&txn, id).await?.map(Paid::Bulk),
        (None, None) => None,
    };
    let Some(mut paid) = paid else {
        return Ok(None);
    };
    let outcome = settle(&txn, view, site_url, &mut paid, &form, now).await?;
    orders::mark_processed(&txn, response_id, &outcome).await?;
    txn.commit().await?;
    tracing::info!(response = response_id, %outcome, "payment result processed");
    Ok(Some(paid))
}

impl Paid {
    fn id(&self) -> i64 {
        match self {
            Paid::Order(o) => o.id,
            Paid::Bulk(b) => b.id,
        }
    }

    /// What the processor should have been paid, and in which currency.
    fn due(&self) -> (Money, &str) {
        match self {
            Paid::Order(o) => (o.amount_due(), &o.currency),
            Paid::Bulk(b) => (b.total, &b.currency),
        }
    }

    fn deal(&self) -> Deal {
        match self {
            Paid::Order(o) => Deal::Order(o.id),
            Paid::Bulk(b) => Deal::Bulk(b.id),
        }
    }

    /// As it stands after a change this process made (read again would say the same).
    fn moved(&mut self, state: OrderState, flag: Option<String>, now: DateTime<Utc>) {
        match self {
            Paid::Order(o) => {
                o.state = state;
                o.flag = flag.or(o.flag.take());
                o.updated_on = now;
            }
            Paid::Bulk(b) => {
                b.state = state;
                b.flag = flag.or(b.flag.take());
                b.updated_on = now;
            }
        }
    }

    fn noun(&self) -> &'static str {
        match self {
            Paid::Order(_) => "order",
            Paid::Bulk(_) => "bulk purchase",
        }
    }

    async fn flag(&self, db: &impl ConnectionTrait, why: &str) -> Result<(), DbErr> {
        match self {
            Paid::Order(o) => orders::flag(db, o.id, why).await,
            Paid::Bulk(b) => bulk_orders::flag(db, b.id, why).await,
        }
    }

    async fn settle_as(
        &self,
        db: &impl ConnectionTrait,
        to: OrderState,
        cause: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, DbErr> {
        match self {
            Paid::Order(o) => {
                orders::transition(db, o.id, OrderState::Pending, to, cause, now).await
            }
            Paid::Bulk(b) => {
                bulk_orders::transition(db, b.id, OrderState::Pending, to, cause, now).await
            }
        }
    }
}

/// Moves a pending order or purchase by the result, once. An order keeps the processor's
/// transaction; a bulk purchase's record is the post itself, kept whole.
async fn settle(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    paid: &mut Paid,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let noun = paid.noun();
    if paid.state() != OrderState::Pending {
        return Ok(format!("no change: the {noun} is already {}", paid.state()));
    }
    let (due, currency) = paid.due();
    let verdict = verdict(form, due, currency);
    if let Some(why) = &verdict.mismatch {
        tracing::error!(id = paid.id(), noun, %why, "payment does not match; not fulfilled");
        paid.flag(db, why).await?;
    }
    let target = verdict.target;
    if !paid.settle_as(db, target, &verdict.cause, now).await? {
        return Ok(format!("no change: another delivery settled the {noun}"));
    }
    paid.moved(target, verdict.mismatch.clone(), now);
    SyncDeal::enqueue(db, paid.deal()).await?;
    match paid {
        Paid::Order(order) => {
            record_payment(db, order.id, form, now).await?;
            if target == OrderState::Fulfilled {
                fulfilment::grant(db, view, site_url, order, now).await?;
            }
        }
        Paid::Bulk(order) if target == OrderState::Fulfilled => {
            bulk::complete(db, view, site_url, order, now).await?;
        }
        Paid::Bulk(_) => {}
    }
    Ok(format!("{noun} {target}"))
}

async fn record_payment(
    db: &impl ConnectionTrait,
    order_id: i64,
    form: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(transaction_id) = form.get("transaction_id").filter(|t| !t.is_empty()) else {
        return Ok(());
    };
    let amount = form
        .get("req_amount")
        .and_then(|a| Money::parse(a).ok())
        .unwrap_or(Money::ZERO);
    orders::record_transaction(
        db,
        &NewTransaction {
            order_id,
            transaction_id,
            kind: "payment",
            amount,
            data: &serde_json::to_string(form).unwrap_or_default(),
        },
        now,
    )
    .await
    .map(|_| ())
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
        // Most posts were processed as they arrived: no need to load the catalog for those.
        if orders::unprocessed(ctx.store.db(), self.response_id)
            .await
            .map_err(retry)?
            .is_none()
        {
            return Ok(());
        }
        let view = store::catalog::read::load(ctx.store.db())
            .await
            .map_err(retry)?;
        process(
            &ctx.store,
            &view,
            &ctx.site_url,
            self.response_id,
            chrono::Utc::now(),
        )
        .await
        .map_err(retry)?;
        Ok(())
    }
}
