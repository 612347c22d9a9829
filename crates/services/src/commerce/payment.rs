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
use integrations::cybersource::secure_acceptance::{Profile, SignedResult};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::Store;
use store::catalog::read::CatalogView;
use store::commerce::bulk_orders::{self, BulkOrder};
use store::commerce::orders::{self, NewTransaction, Order, Received};

use super::{Reference, Storefront, bulk, fulfilment};
use crate::Context;
use crate::crm::{Deal, SyncDeal};
use crate::emails;
use crate::mail::Mail;

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
    #[error("the payment result is refused: {0}")]
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

impl super::Processor {
    /// The profile a result must have been made for.
    pub fn profile(&self) -> Profile<'_> {
        Profile {
            access_key: &self.access_key,
            profile_id: &self.profile_id,
            secret_key: &self.secret_key,
        }
    }
}

/// Checks and records a post with its processing job; the recorded post's id and what it
/// was about. Only a [`SignedResult`] (every field acted on signed, for our profile) gets a
/// job; any other post is kept, marked invalid, and refused.
pub async fn receive(
    store: &Store,
    store_front: &Storefront,
    form: &HashMap<String, String>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<(i64, Paid), PaymentError> {
    let payload = serde_json::to_string(form).unwrap_or_default();
    // What the post claims, recorded as sent (and used to file a refused post under the
    // order it names, for staff); only a verified result is acted on.
    // A NUL cannot be stored in text on PostgreSQL; a post carrying one is still kept.
    let claimed = |name: &str| form.get(name).map(|v| v.replace('\0', "\u{fffd}"));
    let (reference, transaction_id, decision) = (
        claimed("req_reference_number"),
        claimed("transaction_id"),
        claimed("decision"),
    );
    let (reference, transaction_id, decision) = (
        reference.as_deref(),
        transaction_id.as_deref(),
        decision.as_deref(),
    );
    let verified = SignedResult::verify(store_front.processor.profile(), form);
    let db = store.db();
    let paid = match reference.and_then(|r| store_front.reference(r)) {
        Some(Reference::Order(id)) => orders::find(db, id).await?.map(Paid::Order),
        Some(Reference::Bulk(id)) => bulk_orders::find(db, id).await?.map(Paid::Bulk),
        None => None,
    };
    let txn = store.write().await?;
    let refusal = verified.as_ref().err().map(|e| format!("refused: {e}"));
    let mut record = Received {
        order_id: None,
        bulk_order_id: None,
        reference_number: reference,
        transaction_id,
        decision,
        channel: channel.as_str(),
        signature_valid: verified.is_ok(),
        outcome: refusal.as_deref().unwrap_or("received"),
        payload: &payload,
    };
    match &paid {
        Some(Paid::Order(o)) => record.order_id = Some(o.id),
        Some(Paid::Bulk(b)) => record.bulk_order_id = Some(b.id),
        None => {}
    }
    if let Err(e) = verified {
        orders::record_received(&txn, &record, now).await?;
        txn.commit().await?;
        tracing::warn!(
            channel = channel.as_str(),
            reference,
            error = %e,
            "a payment result was refused"
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
    ProcessPayment { response_id: id }.enqueue(&txn).await?;
    txn.commit().await?;
    Ok((id, paid))
}

/// Where a result moves a pending order, and why; `held` when the processor took the money
/// but the order must not be granted (an amount or currency other than the order's).
struct Verdict {
    target: OrderState,
    cause: String,
    held: Option<String>,
}

fn verdict(result: &SignedResult, due: Money, currency: &str) -> Verdict {
    let decision = Decision::parse(Some(result.decision()));
    let mut verdict = Verdict {
        target: decision.order_state(),
        cause: format!(
            "CyberSource {} (reason {}), transaction {}",
            result.decision(),
            result.reason_code(),
            result.transaction_id().unwrap_or("none"),
        ),
        held: None,
    };
    if verdict.target != OrderState::Fulfilled {
        return verdict;
    }
    let asked = Money::parse(result.amount()).ok();
    // A partial authorisation takes less than was asked: only the whole due amount counts.
    let authorised = result.auth_amount().map(|a| Money::parse(a).ok());
    if asked == Some(due)
        && authorised.is_none_or(|a| a == Some(due))
        && result.currency() == currency
    {
        return verdict;
    }
    verdict.held = Some(format!(
        "paid {} {} but the order asks {due} {currency}",
        result.auth_amount().unwrap_or(result.amount()),
        result.currency(),
    ));
    verdict
}

/// Receives a result from the processor and acts on it at once: what it was about, as it
/// then stands. If acting on it fails now, its job will; the post is kept either way.
pub async fn take(
    store: &Store,
    view: &CatalogView,
    store_front: &Storefront,
    form: &HashMap<String, String>,
    channel: Channel,
    now: DateTime<Utc>,
) -> Result<Paid, PaymentError> {
    let (response, paid) = receive(store, store_front, form, channel, now).await?;
    match process(store, view, store_front, response, now).await {
        Ok(Some(settled)) => return Ok(settled),
        Ok(None) => {}
        Err(error) => {
            tracing::error!(%error, response, "processing a payment result failed; its job will retry");
        }
    }
    Ok(paid.reload(store.db()).await?.unwrap_or(paid))
}

/// Acts on a recorded post once; what it was about, as it then stands. A post already
/// processed changes nothing; a post about an order already settled changes nothing unless
/// it is a payment taken for it, which is kept and flagged for staff.
pub async fn process(
    store: &Store,
    view: &CatalogView,
    store_front: &Storefront,
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
    // Verified again: acting needs the signed fields, which only verifying gives.
    let result = match SignedResult::verify(store_front.processor.profile(), &form) {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(response = response_id, error = %e, "a recorded payment result no longer verifies (was the secret key changed?); not acted on");
            orders::mark_processed(&txn, response_id, &format!("refused on processing: {e}"))
                .await?;
            txn.commit().await?;
            return Ok(None);
        }
    };
    let paid = match (post.order, post.bulk_order_id) {
        (Some(order), _) => Some(Paid::Order(order)),
        (None, Some(id)) => bulk_orders::find(&txn, id).await?.map(Paid::Bulk),
        (None, None) => None,
    };
    let Some(mut paid) = paid else {
        return Ok(None);
    };
    let outcome = settle(
        &txn,
        view,
        store_front,
        &mut paid,
        &result,
        response_id,
        now,
    )
    .await?;
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

    fn reference(&self) -> &str {
        match self {
            Paid::Order(o) => &o.reference_number,
            Paid::Bulk(b) => &b.reference_number,
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

    /// Why it must not be granted although paid, if so (see the obstacles of fulfilment
    /// and of bulk purchases).
    async fn obstacle(
        &self,
        db: &impl ConnectionTrait,
        view: &CatalogView,
    ) -> Result<Option<String>, DbErr> {
        match self {
            Paid::Order(o) => fulfilment::obstacle(db, view, o).await,
            Paid::Bulk(b) => Ok(bulk::obstacle(db, b)
                .await?
                .map(|refused| format!("{refused} (by another purchase since checkout)"))),
        }
    }
}

/// The words a flag for a payment taken without fulfilment starts with.
pub const CAPTURED_WITHOUT_FULFILMENT: &str =
    "captured payment without fulfilment: refund or fulfil";

/// Moves a pending order or purchase by the result, once. A payment taken is kept (an
/// order's as its transaction; a bulk purchase's record is the post itself, kept whole),
/// whatever becomes of the order: one that cannot be granted is flagged for staff.
async fn settle(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    store_front: &Storefront,
    paid: &mut Paid,
    result: &SignedResult,
    response_id: i64,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let noun = paid.noun();
    let taken = Decision::parse(Some(result.decision())) == Decision::Accept;
    // Decided on the order as it stands under a lock: checkout re-prices a reused pending
    // order under the learner's lock, and two copies of one result take turns here, so
    // neither an order re-priced since it was read nor a concurrent copy is missed.
    match paid {
        Paid::Order(o) => store::accounts::lock(db, &[o.purchaser_id]).await?,
        Paid::Bulk(b) => bulk_orders::lock(db, b.id).await?,
    }
    if let Some(current) = paid.reload(db).await? {
        *paid = current;
    }
    if paid.state() != OrderState::Pending {
        return taken_elsewhere(db, store_front, paid, result, response_id, now).await;
    }
    let (due, currency) = paid.due();
    let mut verdict = verdict(result, due, currency);
    if verdict.target == OrderState::Fulfilled
        && verdict.held.is_none()
        && let Some(why) = paid.obstacle(db, view).await?
    {
        verdict.held = Some(why);
    }
    if let Some(why) = &verdict.held {
        verdict.target = OrderState::Errored;
        verdict.cause = format!("{}; not fulfilled: {why}", verdict.cause);
    }
    let target = verdict.target;
    if !paid.settle_as(db, target, &verdict.cause, now).await? {
        return taken_elsewhere(db, store_front, paid, result, response_id, now).await;
    }
    let flag = verdict.held.as_ref().map(|why| {
        format!(
            "{CAPTURED_WITHOUT_FULFILMENT} ({why}; transaction {})",
            result.transaction_id().unwrap_or("none")
        )
    });
    if let Some(flag) = &flag {
        tracing::error!(id = paid.id(), noun, %flag, "payment taken but not fulfilled");
        paid.flag(db, flag).await?;
        alert_staff(db, store_front, paid, flag).await?;
    }
    paid.moved(target, flag, now);
    SyncDeal { deal: paid.deal() }.enqueue(db).await?;
    match paid {
        Paid::Order(order) => {
            if taken {
                record_payment(db, order.id, result, now).await?;
            }
            if target == OrderState::Fulfilled {
                fulfilment::grant(db, view, &store_front.base_url, order, now).await?;
            }
        }
        Paid::Bulk(order) if target == OrderState::Fulfilled => {
            bulk::complete(db, view, &store_front.base_url, order, now).await?;
        }
        Paid::Bulk(_) => {}
    }
    Ok(format!("{noun} {target}"))
}

/// A result about an order that is no longer pending. A copy of the result that settled
/// it, or a result that took no money, changes nothing. A payment taken for it otherwise
/// (the order was canceled, declined or errored first; a second payment of one order; an
/// ACCEPT after a REVIEW) is kept and flagged for staff, who are mailed.
async fn taken_elsewhere(
    db: &impl ConnectionTrait,
    store_front: &Storefront,
    paid: &mut Paid,
    result: &SignedResult,
    response_id: i64,
    now: DateTime<Utc>,
) -> Result<String, DbErr> {
    let noun = paid.noun();
    // Read again: another delivery may have moved it since it was read (it holds the
    // lock `settle` took, so nothing moves it now).
    if let Some(current) = paid.reload(db).await? {
        *paid = current;
    }
    let state = paid.state();
    let unchanged = format!("no change: the {noun} is already {state}");
    let accepted = Decision::parse(Some(result.decision())) == Decision::Accept;
    let Some(transaction) = result.transaction_id().filter(|_| accepted) else {
        return Ok(unchanged);
    };
    let (order_id, bulk_id) = match paid {
        Paid::Order(o) => (Some(o.id), None),
        Paid::Bulk(b) => (None, Some(b.id)),
    };
    if orders::acceptance_processed(db, order_id, bulk_id, transaction, response_id).await? {
        return Ok(unchanged);
    }
    let flag = format!(
        "{CAPTURED_WITHOUT_FULFILMENT} (CyberSource accepted payment {transaction} of {} {} for the {noun} when it was already {state})",
        result.amount(),
        result.currency()
    );
    tracing::error!(id = paid.id(), noun, %flag, "payment taken for a settled order");
    if let Paid::Order(order) = paid {
        record_payment(db, order.id, result, now).await?;
    }
    paid.flag(db, &flag).await?;
    alert_staff(db, store_front, paid, &flag).await?;
    paid.moved(state, Some(flag), now);
    Ok(format!(
        "{noun} already {state}: payment {transaction} kept and flagged for staff"
    ))
}

/// Mails the storefront's support address about an order that needs a person.
async fn alert_staff(
    db: &impl ConnectionTrait,
    store_front: &Storefront,
    paid: &Paid,
    why: &str,
) -> Result<(), DbErr> {
    let Some(to) = &store_front.support_email else {
        return Ok(());
    };
    let path = match paid {
        Paid::Order(o) => format!("/staff/orders/{}", o.id),
        Paid::Bulk(b) => format!("/staff/orders/?q={}", b.reference_number),
    };
    Mail::compose(
        to,
        &format!(
            "Payment needs attention: {} {}",
            paid.noun(),
            paid.reference()
        ),
        &emails::PaymentFlagged {
            reference: paid.reference(),
            why,
            link: emails::link(&store_front.base_url, &path),
        },
    )
    .send(db)
    .await
}

async fn record_payment(
    db: &impl ConnectionTrait,
    order_id: i64,
    result: &SignedResult,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some(transaction_id) = result.transaction_id() else {
        return Ok(());
    };
    let amount =
        Money::parse(result.auth_amount().unwrap_or(result.amount())).unwrap_or(Money::ZERO);
    orders::record_transaction(
        db,
        &NewTransaction {
            order_id,
            transaction_id,
            kind: "payment",
            amount,
            data: &serde_json::to_string(result.fields()).unwrap_or_default(),
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

    fn unique_key(&self) -> Option<String> {
        Some(format!("response:{}", self.response_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        // Most posts were processed as they arrived: no need to load the catalog for those.
        if orders::unprocessed(ctx.store.db(), self.response_id)
            .await?
            .is_none()
        {
            return Ok(());
        }
        let Some(store_front) = &ctx.storefront else {
            return Err(JobError::Retry(
                "payments are not configured in this process (no CyberSource profile)".into(),
            ));
        };
        let view = store::catalog::read::load(ctx.store.db()).await?;
        process(
            &ctx.store,
            &view,
            store_front,
            self.response_id,
            chrono::Utc::now(),
        )
        .await?;
        Ok(())
    }
}
