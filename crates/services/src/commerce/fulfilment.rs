//! What a paid order grants, in the transaction that marks it paid: the enrollments (the
//! paid track of a run, upgrading an audit enrollment; a program enrollment and a run of
//! each of its courses for a program), the basket cleared, and jobs for Open edX and the
//! receipt email. The CRM deal is synced on every change of the order (`crate::crm`).

use chrono::{DateTime, Utc};
use domain::Money;
use domain::catalog::Site;
use domain::catalog::predicates::open_for_enrollment;
use domain::commerce::order::OrderState;
use jobs::Job as _;
use sea_orm::{ConnectionTrait, DbErr};
use store::catalog::read::{CatalogView, Purchasable};
use store::commerce::baskets::Owner;
use store::commerce::orders::{self, NewTransaction, Order};

use crate::emails;
use crate::enrollments::SyncEdxEnrollment;
use crate::mail::Mail;

/// The paid track of a run: xPRO's `no-id-professional`, MITx Online's `verified`.
pub fn paid_mode(site: Site) -> &'static str {
    match site {
        Site::Xpro => "no-id-professional",
        Site::Mitxonline => "verified",
    }
}

async fn enroll_run(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let Some((course, _)) = view.run(run_id) else {
        return Ok(());
    };
    let enrollment =
        store::enrollments::activate(db, user_id, run_id, paid_mode(course.site), now).await?;
    SyncEdxEnrollment {
        enrollment_id: enrollment.id,
    }
    .enqueue(db)
    .await
    .map(|_| ())
}

/// The run a program purchase enrolls in for one course: the first that takes enrollments
/// now, by start date (xPRO's run auto-selection).
fn run_for(view: &CatalogView, course_id: i64, now: DateTime<Utc>) -> Option<i64> {
    let course = view.course(course_id)?;
    let mut open: Vec<_> = course
        .runs
        .iter()
        .filter(|r| open_for_enrollment(course.site, &r.window, now))
        .collect();
    open.sort_by_key(|r| r.window.start);
    open.first().map(|r| r.id)
}

/// Why a paid (or free) order must not be granted now, if it must not: the learner already
/// holds what it sells (another order, a seat code or staff got there first), or its
/// discount code reached its limit through other orders since checkout. The learner's row
/// and the code's are locked first, so two fulfilments decide one after the other.
pub async fn obstacle(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    order: &Order,
) -> Result<Option<String>, DbErr> {
    store::accounts::lock(db, &[order.purchaser_id]).await?;
    for line in orders::lines(db, order.id).await? {
        if let Some(item) = super::item(view, line.product_id)
            && super::basket::already_has(db, order.purchaser_id, &item).await?
        {
            return Ok(Some(format!(
                "the learner already holds {} from another order or enrollment",
                item.title
            )));
        }
    }
    let Some(discount_id) = order.discount_id else {
        return Ok(None);
    };
    discount_limit(db, discount_id, Some(order.purchaser_id), false).await
}

/// Whether one more use of a discount stays within its limits, its row locked first;
/// the reason when it does not. `bulk`: the uses that count are seat purchases.
pub(crate) async fn discount_limit(
    db: &impl ConnectionTrait,
    discount_id: i64,
    user_id: Option<i64>,
    bulk: bool,
) -> Result<Option<String>, DbErr> {
    use store::commerce::discounts;
    discounts::lock(db, discount_id).await?;
    let Some(discount) = discounts::find(db, discount_id).await? else {
        return Ok(None);
    };
    let usage = if bulk {
        discounts::bulk_usage(db, discount_id).await?
    } else {
        discounts::usage(db, discount_id, user_id).await?
    };
    Ok(discount.rules.within_limits(usage).err().map(|why| {
        format!(
            "the code {} has reached its limit through other orders: {why}",
            discount.code.as_deref().unwrap_or("(automatic)")
        )
    }))
}

/// Grants what the (just fulfilled) order bought. Runs in the caller's transaction.
pub async fn grant(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let user_id = order.purchaser_id;
    let mut titles = Vec::new();
    for line in orders::lines(db, order.id).await? {
        titles.push(line.description.clone());
        match view.purchasable(line.product_id) {
            Some(Purchasable::Run(run_id)) => enroll_run(db, view, user_id, run_id, now).await?,
            Some(Purchasable::Program(program_id)) => {
                let Some(program) = view.program(program_id) else {
                    continue;
                };
                store::enrollments::activate_program(
                    db,
                    user_id,
                    program_id,
                    paid_mode(program.site),
                    Some(order.id),
                    now,
                )
                .await?;
                let courses: Vec<i64> = program
                    .course_leaves()
                    .into_iter()
                    .map(|(c, _)| c)
                    .collect();
                for course in courses {
                    match run_for(view, course, now) {
                        Some(run_id) => enroll_run(db, view, user_id, run_id, now).await?,
                        None => tracing::warn!(
                            order = order.id,
                            course,
                            "no open run to enroll in for this program purchase"
                        ),
                    }
                }
            }
            None => tracing::error!(
                order = order.id,
                product = line.product_id,
                "a fulfilled order sells something the catalog no longer has"
            ),
        }
    }
    super::basket::clear_in(db, &Owner::User(user_id)).await?;
    crate::sheets::code_sheets::order_fulfilled(db, order.id).await?;
    if let Some(user) = store::accounts::find(db, user_id).await? {
        crate::coupon_requests::redeemed(db, order.id, &user.email, now).await?;
        let total = Money::from_minor(order.total.minor + order.tax.minor);
        Mail::compose(
            &user.email,
            "Purchase Order Receipt",
            &emails::Receipt {
                name: &user.name,
                reference: &order.reference_number,
                lines: titles,
                total: total.to_string(),
                tax: order.tax.to_string(),
                currency: &order.currency,
                receipt_link: emails::link(site_url, &format!("/orders/{}/", order.id)),
            },
        )
        .send(db)
        .await?;
    }
    Ok(())
}

/// Fulfils an order that costs nothing, recording an administrative zero payment
/// (MITx Online `ZERO_PAYMENT_DATA`); the reason it cannot, leaving it pending, when
/// [`obstacle`] finds one (nothing was paid, so nothing needs a person).
pub async fn fulfil_free(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    order: &Order,
    now: DateTime<Utc>,
) -> Result<Option<String>, DbErr> {
    if let Some(why) = obstacle(db, view, order).await? {
        return Ok(Some(why));
    }
    if !orders::transition(
        db,
        order.id,
        OrderState::Pending,
        OrderState::Fulfilled,
        "no payment required",
        now,
    )
    .await?
    {
        return Ok(None);
    }
    orders::record_transaction(
        db,
        &NewTransaction {
            order_id: order.id,
            transaction_id: &format!("zero-payment-{:032x}", rand::random::<u128>()),
            kind: "payment",
            amount: Money::ZERO,
            data: r#"{"reason":"No payment required","is_administrative":true}"#,
        },
        now,
    )
    .await?;
    grant(db, view, site_url, order, now).await?;
    Ok(None)
}
