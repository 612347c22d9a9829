//! The enrollment-change spreadsheet's refund and deferral worksheets: what a ready row
//! does, and the job that reads them.

use chrono::{DateTime, Utc};
use domain::commerce::order::OrderState;
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::catalog::read::CatalogView;

use super::Sheets;
use super::process::{Row, Workflow, process_each};
use crate::Context;
use crate::commerce::refunds::{self, Refund};

/// The learner a row names by email, or the row's error.
async fn learner(
    db: &impl ConnectionTrait,
    email: &str,
) -> Result<Result<store::accounts::User, String>, DbErr> {
    let user = match domain::accounts::Email::parse(email) {
        Ok(address) => store::accounts::find_by_email(db, &address).await?,
        Err(_) => None,
    };
    Ok(user.ok_or_else(|| format!("User with email '{email}' not found")))
}

/// Acts on one refund row: the order refunded through the commerce refund service (its
/// enrollments ended, the learner mailed); an order refunded before is done already.
pub(super) async fn refund_row(
    ctx: &Context,
    sheets: &Sheets,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let db = ctx.store.db();
    let (email, product, order_cell) = (&row.cells[2], &row.cells[5], &row.cells[6]);
    let user = match learner(db, email).await? {
        Ok(user) => user,
        Err(error) => return Ok(Err(error)),
    };
    let Ok(order_id) = order_cell.parse::<i64>() else {
        return Ok(Err(format!(
            "Parsing failure: order id {order_cell:?} is not a number"
        )));
    };
    let order = store::commerce::orders::find(db, order_id)
        .await?
        .filter(|o| o.purchaser_id == user.id);
    let Some(order) = order else {
        return Ok(Err(format!(
            "Order with id {order_id} and purchaser '{email}' not found"
        )));
    };
    let sells_product = store::commerce::orders::lines(db, order.id)
        .await?
        .iter()
        .filter_map(|l| crate::commerce::item(view, l.product_id))
        .any(|item| item.readable_id == *product);
    if !sells_product {
        return Ok(Err(format!(
            "Program/Course run enrollment does not exist for product '{product}' and order {order_id}"
        )));
    }
    if order.state == OrderState::Refunded {
        return Ok(Ok("refunded before".to_string()));
    }
    let reason = format!(
        "refund request {} (Google Sheets)",
        row.key(Workflow::Refunds)
    );
    let asked = Refund {
        amount: None,
        reason: &reason,
        unenroll: true,
        by: "Google Sheets",
    };
    match refunds::refund(
        &ctx.store,
        view,
        sheets.refund_client.as_deref(),
        order.id,
        &asked,
        now,
    )
    .await
    {
        Ok(_) => Ok(Ok("refunded".to_string())),
        Err(refunds::RefundFailure::Db(e)) => Err(e),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// Acts on one deferral row (forced, as xPRO's sheet defers): the learner moves from one
/// run to the other; a learner already moved is done already.
pub(super) async fn defer_row(
    ctx: &Context,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let (email, from, to) = (&row.cells[2], &row.cells[5], &row.cells[6]);
    let txn = ctx.store.write().await?;
    let user = match learner(&txn, email).await? {
        Ok(user) => user,
        Err(_) => return Ok(Err(format!("User '{email}' does not exist"))),
    };
    // Deferred before (a crash between moving and recording): done, nothing moves again.
    let run_of = |id: &str| view.run_by_courseware_id(id).map(|(_, r)| r.id);
    let (from_run, to_run) = (run_of(from), run_of(to));
    if let (Some(from_run), Some(to_run)) = (from_run, to_run)
        && from_run != to_run
    {
        let deferred = store::enrollments::for_run(&txn, user.id, from_run)
            .await?
            .is_some_and(|e| e.change_status.as_deref() == Some("deferred"));
        let moved = store::enrollments::for_run(&txn, user.id, to_run)
            .await?
            .is_some_and(|e| e.active);
        if deferred && moved {
            return Ok(Ok("deferred before".to_string()));
        }
    }
    match crate::enrollments::defer_in(&txn, view, &ctx.site_url, user.id, from, to, true, now)
        .await
    {
        Ok(_) => {
            txn.commit().await?;
            Ok(Ok(format!("deferred from {from} to {to}")))
        }
        Err(crate::enrollments::DeferError::Db(e)) => Err(e),
        Err(other) => Ok(Err(other.to_string())),
    }
}

/// Reads the enrollment-change worksheets and acts on their ready rows (the schedule's
/// poll, and each debounced change notification).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProcessSheets {}

impl Job for ProcessSheets {
    const KIND: &'static str = "sheets.process_requests";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("sheets:enrollchange".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        process_each(
            ctx,
            sheets,
            &[
                (sheets.refunds.as_ref(), Workflow::Refunds),
                (sheets.deferrals.as_ref(), Workflow::Deferrals),
            ],
        )
        .await
    }
}
