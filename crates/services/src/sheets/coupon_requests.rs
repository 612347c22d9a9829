//! The coupon request worksheet: a ready row creates its batch of codes and queues the
//! request's assignment spreadsheet.

use chrono::{DateTime, Utc};
use jobs::{Job, JobError};
use sea_orm::DbErr;
use serde::{Deserialize, Serialize};
use store::catalog::read::CatalogView;
use store::commerce::coupon_requests::Source;

use super::assignments;
use super::process::{Row, Workflow, process_each};
use crate::Context;
use crate::coupon_requests::{self, RequestError, RequestForm};

/// Acts on one coupon request row: the batch of codes is created and its assignment
/// spreadsheet queued; a batch this sheet created before is done already.
pub(super) async fn request_row(
    ctx: &Context,
    view: &CatalogView,
    row: &Row,
    now: DateTime<Utc>,
) -> Result<Result<String, String>, DbErr> {
    let cell = |i: usize| row.cells[i].clone();
    let form = RequestForm {
        purchase_order: cell(0),
        name: cell(1),
        num_codes: cell(2),
        product: cell(3),
        company: cell(4),
        activation: cell(5),
        expiration: cell(6),
        requester: cell(7),
    };
    let txn = ctx.store.write().await?;
    if store::commerce::coupon_requests::by_name(&txn, form.name.trim())
        .await?
        .is_some_and(|r| r.source == Source::Sheet.as_str())
    {
        return Ok(Ok("created before".to_string()));
    }
    match coupon_requests::create_in(&txn, view, &form, Source::Sheet, now).await {
        Ok(request) => {
            assignments::CreateSheet {
                request_id: request.id,
            }
            .enqueue(&txn)
            .await?;
            txn.commit().await?;
            Ok(Ok(format!("{} codes created", request.num_codes)))
        }
        Err(RequestError::Db(e)) => Err(e),
        Err(RequestError::Invalid(errors)) => Ok(Err(errors.to_string())),
    }
}

/// Reads the coupon request worksheet and creates the batches its ready rows ask for
/// (xPRO `handle_unprocessed_coupon_requests`: on change, and polled), and makes sure every
/// request from it has its assignment spreadsheet on the way.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ProcessCouponRequests {}

impl Job for ProcessCouponRequests {
    const KIND: &'static str = "sheets.handle_coupon_requests";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("sheets:enrollrequest".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(sheets) = ctx.sheets.as_ref() else {
            return Ok(());
        };
        let processed = process_each(
            ctx,
            sheets,
            &[(sheets.coupon_requests.as_ref(), Workflow::CouponRequests)],
        )
        .await;
        // A request whose spreadsheet never got made (its job gave up) is tried again.
        let db = ctx.store.db();
        for request in store::commerce::coupon_requests::sheets_pending(db).await? {
            assignments::CreateSheet {
                request_id: request.id,
            }
            .enqueue(db)
            .await?;
        }
        processed
    }
}
