//! Refunds: staff refund a fulfilled order through CyberSource's REST API (a zero-value
//! order needs no processor), then, in one transaction, the order becomes refunded with the
//! refund transaction, the enrollments it granted end (xPRO unenrolls; MITx Online keeps the
//! learner in the free audit track, as its `perform_downgrade_from_order` does), Open edX is
//! told, the learner is mailed, and any pending request of theirs is approved. Learners may
//! ask for a refund; staff see the requests as a queue.

use chrono::{DateTime, Utc};
use domain::Money;
use domain::catalog::Site;
use domain::commerce::order::OrderState;
use integrations::cybersource::refunds::{RefundError, Refunds};
use jobs::Job as _;
use sea_orm::{ConnectionTrait, DbErr};
use store::Store;
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::orders::{self, NewTransaction, Order};
use store::commerce::refund_requests::{self, REASONS, RefundRequest};

use crate::commerce::Storefront;
use crate::crm::{Deal, SyncDeal};
use crate::emails;
use crate::enrollments::SyncEdxEnrollment;
use crate::mail::Mail;

#[derive(Debug, thiserror::Error)]
pub enum RefundFailure {
    #[error("there is no such order")]
    NoSuchOrder,
    #[error("only a fulfilled order can be refunded; this one is {0}")]
    NotFulfilled(OrderState),
    #[error("the order has no payment to refund")]
    NoPayment,
    #[error("the amount must be more than zero and at most what was paid ({0})")]
    Amount(Money),
    #[error("refunds are not configured")]
    NotConfigured,
    #[error(transparent)]
    Processor(RefundError),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What staff ask for.
pub struct Refund<'a> {
    /// None: everything paid.
    pub amount: Option<Money>,
    pub reason: &'a str,
    /// End the enrollments the order granted.
    pub unenroll: bool,
    /// Who asked (for the history).
    pub by: &'a str,
}

/// Refunds an order; the order as it then stands.
pub async fn refund(
    store: &Store,
    view: &CatalogView,
    client: Option<&Refunds>,
    order_id: i64,
    request: &Refund<'_>,
    now: DateTime<Utc>,
) -> Result<Order, RefundFailure> {
    let db = store.db();
    let order = orders::find(db, order_id)
        .await?
        .ok_or(RefundFailure::NoSuchOrder)?;
    if order.state != OrderState::Fulfilled {
        return Err(RefundFailure::NotFulfilled(order.state));
    }
    // The payment the enrollment rests on (not a second payment staff may have refunded
    // on its own, nor one refunded already).
    let payment = super::held::backing_payment(&order, &orders::transactions(db, order.id).await?)
        .ok_or(RefundFailure::NoPayment)?;
    let amount = request.amount.unwrap_or(payment.amount);
    if (amount == Money::ZERO && payment.amount > Money::ZERO) || amount > payment.amount {
        return Err(RefundFailure::Amount(payment.amount));
    }
    let (refund_id, data, note) = if payment.amount == Money::ZERO {
        (
            format!("zero-refund-{:032x}", rand::random::<u128>()),
            r#"{"reason":"Nothing was paid"}"#.to_string(),
            "nothing was paid".to_string(),
        )
    } else {
        let client = client.ok_or(RefundFailure::NotConfigured)?;
        match client
            .refund(
                &payment.transaction_id,
                &order.reference_number,
                &amount.to_decimal().to_string(),
                &order.currency,
            )
            .await
        {
            Ok(done) => (
                done.id,
                done.response,
                format!("CyberSource {}", done.status),
            ),
            // Refunded before (our record of it was lost): the order is refunded all the same.
            Err(RefundError::Duplicate) => (
                format!("duplicate-{}", payment.transaction_id),
                r#"{"reason":"DUPLICATE_REQUEST"}"#.to_string(),
                "CyberSource had refunded it already".to_string(),
            ),
            Err(other) => return Err(RefundFailure::Processor(other)),
        }
    };
    let txn = store.write().await?;
    let cause = format!(
        "refund of {amount} {} by {} ({note}): {}",
        order.currency, request.by, request.reason
    );
    if orders::transition(
        &txn,
        order.id,
        OrderState::Fulfilled,
        OrderState::Refunded,
        &cause,
        now,
    )
    .await?
    {
        SyncDeal {
            deal: Deal::Order(order.id),
        }
        .enqueue(&txn)
        .await?;
        orders::record_transaction(
            &txn,
            &NewTransaction {
                order_id: order.id,
                transaction_id: &refund_id,
                kind: "refund",
                amount,
                data: &data,
            },
            now,
        )
        .await?;
        if request.unenroll {
            end_enrollments(&txn, view, &order, now).await?;
        }
        refund_requests::decide(&txn, order.id, "approved", request.by, now).await?;
        if let Some(user) = store::accounts::find(&txn, order.purchaser_id).await? {
            Mail::compose(
                &user.email,
                &format!("Refund of order {}", order.reference_number),
                &emails::Refund {
                    name: &user.name,
                    amount: amount.to_string(),
                    currency: &order.currency,
                    reference: &order.reference_number,
                },
            )
            .send(&txn)
            .await?;
        }
    }
    txn.commit().await?;
    tracing::info!(order = order.id, %amount, by = request.by, "order refunded");
    Ok(orders::find(db, order.id).await?.unwrap_or(order))
}

async fn end_enrollments(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let user = order.purchaser_id;
    for line in orders::lines(db, order.id).await? {
        let runs: Vec<i64> = match view.purchasable(line.product_id) {
            Some(Purchasable::Run(run)) => vec![run],
            Some(Purchasable::Program(program)) => {
                store::enrollments::deactivate_program(db, user, program, "refunded", now).await?;
                view.program(program)
                    .map(|p| {
                        p.course_leaves()
                            .into_iter()
                            .filter_map(|(c, _)| view.course(c))
                            .flat_map(|c| c.runs.iter().map(|r| r.id))
                            .collect()
                    })
                    .unwrap_or_default()
            }
            None => Vec::new(),
        };
        for run in runs {
            let Some(enrollment) = store::enrollments::for_run(db, user, run)
                .await?
                .filter(|e| e.active && e.mode != "audit")
            else {
                continue;
            };
            let site = view.run(run).map(|(c, _)| c.site);
            let changed = match site {
                Some(Site::Mitxonline) => {
                    store::enrollments::activate(db, user, run, "audit", now).await?
                }
                _ => store::enrollments::deactivate(db, enrollment, "refunded", now).await?,
            };
            SyncEdxEnrollment {
                enrollment_id: changed.id,
            }
            .enqueue(db)
            .await?;
        }
    }
    Ok(())
}

#[derive(Debug, thiserror::Error)]
pub enum RequestRefusal {
    #[error("there is no such order of yours")]
    NoSuchOrder,
    #[error("only a fulfilled order can be refunded")]
    NotFulfilled,
    #[error("the reason must be one of {REASONS:?}")]
    Reason,
    #[error("you must consent to the refund terms")]
    Consent,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// What a learner fills in.
pub struct Ask<'a> {
    pub order_id: i64,
    pub reason: &'a str,
    pub reason_text: &'a str,
    pub consent: bool,
}

/// A learner asks for a refund of their own fulfilled order; the storefront's support
/// address is mailed.
pub async fn request(
    store: &Store,
    user_id: i64,
    ask: &Ask<'_>,
    store_front: Option<&Storefront>,
    now: DateTime<Utc>,
) -> Result<RefundRequest, RequestRefusal> {
    let txn = store.write().await?;
    let request = request_in(&txn, user_id, ask, store_front, now).await?;
    txn.commit().await?;
    Ok(request)
}

async fn request_in(
    db: &impl ConnectionTrait,
    user_id: i64,
    ask: &Ask<'_>,
    store_front: Option<&Storefront>,
    now: DateTime<Utc>,
) -> Result<RefundRequest, RequestRefusal> {
    let Ask {
        order_id,
        reason,
        reason_text,
        consent,
    } = *ask;
    let order = orders::find(db, order_id)
        .await?
        .filter(|o| o.purchaser_id == user_id)
        .ok_or(RequestRefusal::NoSuchOrder)?;
    if order.state != OrderState::Fulfilled {
        return Err(RequestRefusal::NotFulfilled);
    }
    if !REASONS.contains(&reason) {
        return Err(RequestRefusal::Reason);
    }
    if !consent {
        return Err(RequestRefusal::Consent);
    }
    let created =
        refund_requests::create(db, order.id, user_id, reason, reason_text.trim(), now).await?;
    if let Some((support, site_url)) =
        store_front.and_then(|f| Some((f.support_email.as_deref()?, f.base_url.as_str())))
    {
        Mail::compose(
            support,
            &format!(
                "Refund Request Submitted – Order {}",
                order.reference_number
            ),
            &emails::RefundRequest {
                reference: &order.reference_number,
                reason,
                explanation: reason_text.trim(),
                link: emails::link(site_url, "/staff/refunds/"),
            },
        )
        .send(db)
        .await?;
    }
    Ok(created)
}
