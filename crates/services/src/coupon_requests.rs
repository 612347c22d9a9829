//! Coupon requests (xPRO §6.1, §6.2, §11.5): a company's purchase order becomes a named
//! batch of single-use, 100 %-off enrollment codes for one product; each code is then
//! assigned to a learner's email, who gets the `bulk_enroll` message with a link that
//! applies the code. The message's delivery (from the recorded delivery events) and the
//! redemption are followed on the assignment.
//!
//! Requests come from the staff queue (`/staff/coupon-requests/`) or the coupon request
//! spreadsheet; codes are assigned on the staff page or in the request's assignment
//! spreadsheet (`crate::sheets::assignments`). Both go through this module, so a
//! deployment without Google works fully.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::catalog::validate::FieldErrors;
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::Store;
use store::catalog::read::CatalogView;
use store::commerce::coupon_requests::{self as requests, CouponRequest, NewRequest, Source};

use crate::Context;
use crate::commerce::discount_admin::{self, MAX_BATCH, Seats};
use crate::commerce::{bulk, item};
use crate::emails;
use crate::mail::Mail;

/// A request as typed, on the staff form or a sheet row.
#[derive(Debug, Clone, Default)]
pub struct RequestForm {
    pub purchase_order: String,
    /// The batch name; unique.
    pub name: String,
    pub num_codes: String,
    /// A run's courseware id or a program's readable id (`…+R1`: one of its runs).
    pub product: String,
    pub company: String,
    pub activation: String,
    pub expiration: String,
    pub requester: String,
}

#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("{0}")]
    Invalid(FieldErrors),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// The product a text id names: a run's, a program's, or (`program…+R1`) the program's
/// for one of its runs; codes are scoped to the product, whichever run is chosen.
fn product_of(view: &CatalogView, text_id: &str) -> Option<i64> {
    if let Some((_, run)) = view.run_by_courseware_id(text_id) {
        return run.product.as_ref().map(|p| p.id);
    }
    let program = view.program_by_readable_id(text_id).or_else(|| {
        let (program, tag) = text_id.rsplit_once('+')?;
        view.program_by_readable_id(program)
            .filter(|p| p.runs.iter().any(|r| r.run_tag == tag))
    })?;
    program.product.as_ref().map(|p| p.id)
}

/// Checks a request and creates its batch of codes, in the caller's transaction.
pub async fn create_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    form: &RequestForm,
    source: Source,
    now: DateTime<Utc>,
) -> Result<CouponRequest, RequestError> {
    let mut errors = FieldErrors::default();
    let name = form.name.trim();
    if name.is_empty() || name.len() > 256 {
        errors.add("name", "must be 1 to 256 characters");
    } else if requests::by_name(db, name).await?.is_some()
        || store::commerce::discounts::batch_exists(db, name).await?
    {
        errors.add("name", format!("a batch named {name:?} exists already"));
    }
    let purchase_order = form.purchase_order.trim();
    if purchase_order.is_empty() {
        errors.add("purchase_order", "is required");
    }
    let num_codes = form
        .num_codes
        .trim()
        .parse::<u32>()
        .ok()
        .filter(|n| (1..=MAX_BATCH).contains(n));
    if num_codes.is_none() {
        errors.add(
            "num_codes",
            format!("must be a whole number from 1 to {MAX_BATCH}"),
        );
    }
    let text_id = form.product.trim();
    let product = product_of(view, text_id);
    if product.is_none() {
        errors.add("product", format!("no run or program {text_id:?} is sold"));
    }
    let company = form.company.trim();
    if company.is_empty() {
        errors.add("company", "is required");
    }
    let (activation, expiration) =
        discount_admin::window(&form.activation, &form.expiration, now, &mut errors);
    let (Some(num_codes), Some(product_id)) = (num_codes, product) else {
        return Err(RequestError::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(RequestError::Invalid(errors));
    }
    let requester = Some(form.requester.trim()).filter(|r| !r.is_empty());
    let id = requests::create(
        db,
        &NewRequest {
            name,
            purchase_order,
            num_codes: i32::try_from(num_codes).unwrap_or(i32::MAX),
            product_id,
            product_text_id: text_id,
            company,
            activation,
            expiration,
            requester,
            source,
        },
        now,
    )
    .await?;
    discount_admin::seat_codes(
        db,
        &Seats {
            count: i32::try_from(num_codes).unwrap_or(i32::MAX),
            product_id,
            payment_type: "purchase_order",
            transaction: purchase_order,
            batch: name,
            activation,
            expiration,
        },
        now,
    )
    .await?;
    requests::find(db, id)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(format!("coupon request {id}")).into())
}

/// What assigning changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Assigned {
    pub created: usize,
    pub removed: usize,
    /// Of the created, those whose email is not an address (no message sent).
    pub invalid: usize,
}

#[derive(Debug, thiserror::Error)]
pub enum AssignError {
    #[error("{0} is not a code of this request")]
    UnknownCode(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Makes the request's assignments those `wanted` (code → email; a code left out is
/// unassigned), in the caller's transaction. A redeemed code keeps its assignment
/// whatever is asked (xPRO). Each new assignment to a valid address is mailed the
/// `bulk_enroll` message; one to anything else is marked `invalid`.
pub async fn assign_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    request: &CouponRequest,
    wanted: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Assigned, AssignError> {
    let codes = requests::codes(db, request).await?;
    if let Some(unknown) = wanted.keys().find(|c| !codes.iter().any(|k| &k.code == *c)) {
        return Err(AssignError::UnknownCode(unknown.clone()));
    }
    let title =
        item(view, request.product_id).map_or_else(|| request.product_text_id.clone(), |i| i.title);
    let mut assigned = Assigned::default();
    for code in codes {
        let email = wanted
            .get(&code.code)
            .map(|e| e.trim().to_lowercase())
            .filter(|e| !e.is_empty());
        match (&code.assignment, &email) {
            (Some(a), _) if a.redeemed_on.is_some() => continue,
            (Some(a), Some(e)) if &a.email == e => continue,
            (Some(_), _) => {
                requests::unassign(db, code.discount_id).await?;
                assigned.removed += 1;
            }
            (None, None) => continue,
            (None, Some(_)) => {}
        }
        let Some(email) = email else {
            continue;
        };
        assigned.created += 1;
        if domain::accounts::Email::parse(&email).is_err() {
            assigned.invalid += 1;
            requests::assign(
                db,
                request.id,
                code.discount_id,
                &email,
                "invalid",
                None,
                now,
            )
            .await?;
            continue;
        }
        let mail = Mail::compose(
            &email,
            &format!("Complete your {} Enrollment", site_name(view, request)),
            &emails::BulkEnroll {
                company: &request.company,
                title: &title,
                code: &code.code,
                enrollment_url: bulk::redeem_url(site_url, request.product_id, &code.code),
                expiration: request
                    .expiration
                    .map(|e| e.format("%b %-d, %Y").to_string()),
            },
        );
        requests::assign(
            db,
            request.id,
            code.discount_id,
            &email,
            "assigned",
            mail.message_id.as_deref(),
            now,
        )
        .await?;
        mail.send(db).await?;
    }
    Ok(assigned)
}

fn site_name(view: &CatalogView, request: &CouponRequest) -> &'static str {
    item(view, request.product_id).map_or("MIT xPRO", |i| i.site.display_name())
}

/// Statuses that mean the message reached the learner (or no longer matters).
const DELIVERED: [&str; 4] = ["delivered", "opened", "clicked", "enrolled"];

/// Marks the order's code, if it is an assigned one, `enrolled` (xPRO
/// `set_assignment_rows_to_enrolled`); its sheet follows. In the caller's transaction.
pub async fn redeemed(
    db: &impl ConnectionTrait,
    order_id: i64,
    email: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    match requests::redeemed(db, order_id, email, now).await? {
        Some(request) => crate::sheets::assignments::ShowStatuses {
            request_id: request,
        }
        .enqueue(db)
        .await
        .map(|_| ()),
        None => Ok(()),
    }
}

/// Follows the delivery of assignment messages (xPRO `update-assignment-delivery-dates`,
/// every two hours, and at once when a delivery event about one arrives): each
/// assignment takes its message's latest status; a request whose codes are all assigned
/// to addresses and whose messages all arrived is complete and no longer followed. Requests last
/// assigned over 15 days ago are dropped.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FollowDelivery {}

impl Job for FollowDelivery {
    const KIND: &'static str = "sheets.update_assignment_delivery";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("coupons:delivery".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let now = Utc::now();
        let followed =
            requests::delivery_followed(ctx.store.db(), now - Duration::days(15)).await?;
        for request in followed {
            let txn = ctx.store.write().await?;
            let news = requests::delivery_news(&txn, request.id).await?;
            for (discount_id, status, at) in &news {
                requests::set_status(&txn, *discount_id, status, *at).await?;
            }
            let codes = requests::codes(&txn, &request).await?;
            // Complete once every code is assigned to an address and every message arrived
            // (xPRO looks only at the messages sent, and stops watching a sheet half
            // assigned or with an address to correct).
            let outstanding = codes.iter().any(|c| {
                c.assignment
                    .as_ref()
                    .is_none_or(|a| !DELIVERED.contains(&a.status.as_str()))
            });
            if !outstanding {
                requests::delivery_completed(&txn, request.id, now).await?;
            }
            if request.sheet_id.is_some() && (!news.is_empty() || !outstanding) {
                crate::sheets::assignments::ShowStatuses {
                    request_id: request.id,
                }
                .enqueue(&txn)
                .await?;
            }
            txn.commit().await?;
            if !news.is_empty() {
                tracing::info!(
                    request = request.id,
                    changed = news.len(),
                    complete = !outstanding,
                    "assignment delivery followed"
                );
            }
        }
        Ok(())
    }
}

/// Creates a coupon request and its codes (`create_in`) in one transaction.
pub async fn create(
    store: &Store,
    view: &CatalogView,
    form: &RequestForm,
    source: Source,
    now: DateTime<Utc>,
) -> Result<CouponRequest, RequestError> {
    let txn = store.write().await?;
    let request = create_in(&txn, view, form, source, now).await?;
    txn.commit().await?;
    Ok(request)
}

/// Makes a request's assignments those `wanted` (`assign_in`) in one transaction.
pub async fn assign(
    store: &Store,
    view: &CatalogView,
    site_url: &str,
    request: &CouponRequest,
    wanted: &HashMap<String, String>,
    now: DateTime<Utc>,
) -> Result<Assigned, AssignError> {
    let txn = store.write().await?;
    let assigned = assign_in(&txn, view, site_url, request, wanted, now).await?;
    txn.commit().await?;
    Ok(assigned)
}
