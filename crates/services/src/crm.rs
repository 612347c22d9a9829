//! The CRM deal of each order and bulk purchase (xPRO and MITx Online sync it to HubSpot on
//! checkout and on every change of state). The sync is queued here, keyed per order so a
//! burst of changes makes one sync that reads the order as it then stands. The HubSpot
//! client arrives with the back-office work; a deployment without a CRM has nothing to send,
//! and the job ends at once.

use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};

use crate::Context;

/// Which deal: a learner's order, or a bulk seat purchase (xPRO's B2B deals).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deal {
    Order(i64),
    Bulk(i64),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncDeal {
    pub deal: Deal,
}

impl SyncDeal {
    pub async fn enqueue(db: &impl ConnectionTrait, deal: Deal) -> Result<(), DbErr> {
        let key = match deal {
            Deal::Order(id) => format!("order:{id}"),
            Deal::Bulk(id) => format!("bulk:{id}"),
        };
        jobs::push(
            db,
            &SyncDeal { deal },
            Enqueue {
                unique_key: Some(key),
                run_at: None,
            },
        )
        .await
        .map(|_| ())
    }
}

impl Job for SyncDeal {
    const KIND: &'static str = "crm.sync_deal";
    type Context = Context;

    async fn run(self, _ctx: &Context) -> Result<(), JobError> {
        tracing::debug!(deal = ?self.deal, "no CRM is configured; the deal has nowhere to go");
        Ok(())
    }
}
