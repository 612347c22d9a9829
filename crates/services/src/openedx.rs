//! Open edX provisioning: every account gets an edX account, created by a job enqueued with
//! the account itself, and a repair schedule re-enqueues any that failed (reference
//! `repair_faulty_openedx_users`, every 30 minutes, 5 minutes' grace).

use chrono::{Duration, Utc};
use integrations::openedx::{EdxError, NewUser};
use jobs::{Job, JobError};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};

use crate::Context;
use crate::edx_token::with_user_token;

/// Creates the edX account of one user. Idempotent: a user already synced is left alone,
/// and edX answering "this email and username exist" counts as done.
#[derive(Debug, Serialize, Deserialize)]
pub struct CreateEdxUser {
    pub user_id: i64,
}

/// How soon work waiting on Open edX (down, or the learner's account not made yet) looks
/// again: so pending edX work resumes within a minute of edX coming back, however long it
/// was away, and no attempt is used up by the wait.
pub(crate) const EDX_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// An Open edX failure as a job outcome: edX away (a network error, a 5xx, a 429) is waited
/// out without using attempts; permanent failures go dead.
pub(crate) fn edx_outcome(error: EdxError) -> JobError {
    match error {
        EdxError::Transient(message) => JobError::wait(EDX_WAIT, format!("Open edX: {message}")),
        EdxError::Permanent(message) | EdxError::Unauthorized(message) => {
            JobError::Permanent(message)
        }
    }
}

impl Job for CreateEdxUser {
    const KIND: &'static str = "openedx.create_user";
    const MAX_ATTEMPTS: u32 = 8;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("user:{}", self.user_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let Some(edx) = &ctx.openedx else {
            // No LMS here: nothing to do (a dead job per enrollment would only be noise).
            // Once one is configured, the repair and retry schedules catch up.
            return Ok(());
        };
        if store::openedx::account(db, self.user_id)
            .await?
            .is_some_and(|a| a.has_been_synced)
        {
            return Ok(());
        }
        let user = store::accounts::find(db, self.user_id)
            .await?
            .ok_or_else(|| JobError::Permanent(format!("user {} is gone", self.user_id)))?;
        if !user.is_active {
            // Not cleared (yet): activation enqueues this again.
            tracing::info!(
                user = user.id,
                "edX account deferred: the account is inactive"
            );
            return Ok(());
        }
        let country = store::accounts::address(db, user.id)
            .await?
            .map(|a| a.country)
            .unwrap_or_default();
        let new = NewUser {
            username: &user.username,
            email: &user.email,
            name: &user.name,
            country: &country,
        };
        match edx.create_user(&new).await {
            Ok(username) => {
                store::openedx::record_synced(db, user.id, &username, Utc::now()).await?;
                tracing::info!(user = user.id, edx_username = %username, "edX account created");
                Ok(())
            }
            Err(error) => {
                store::openedx::record_error(db, user.id, &error.to_string(), Utc::now()).await?;
                Err(edx_outcome(error))
            }
        }
    }
}

/// Re-enqueues edX account creation for users still missing from edX after the grace
/// period; the unique key makes a user's pending job absorb the repeat.
#[derive(Debug, Serialize, Deserialize)]
pub struct RepairEdxUsers {}

impl Job for RepairEdxUsers {
    const KIND: &'static str = "openedx.repair_faulty_users";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        if ctx.openedx.is_none() {
            return Ok(());
        }
        let db = ctx.store.db();
        let users = store::openedx::unsynced_users(db, Utc::now(), Duration::minutes(5)).await?;
        for user_id in &users {
            CreateEdxUser { user_id: *user_id }.enqueue(db).await?;
        }
        if !users.is_empty() {
            tracing::info!(count = users.len(), "re-enqueued edX account creation");
        }
        Ok(())
    }
}

/// Pushes a changed name or email to the learner's edX account (reference
/// `change_edx_user_name_async` / `change_edx_user_email_async`).
#[derive(Debug, Serialize, Deserialize)]
pub struct UpdateEdxUser {
    pub user_id: i64,
}

impl Job for UpdateEdxUser {
    const KIND: &'static str = "openedx.update_user";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("user:{}", self.user_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = &ctx.openedx else {
            return Ok(());
        };
        let db = ctx.store.db();
        let username = edx_username(db, self.user_id).await?;
        let user = store::accounts::find(db, self.user_id)
            .await?
            .ok_or_else(|| JobError::Permanent(format!("user {} is gone", self.user_id)))?;
        with_user_token(ctx, edx, user.id, |token| async move {
            edx.update_user(&token, &username, &user.name, &user.email)
                .await
        })
        .await
    }
}

/// The learner's edX username; until their account exists, a wait (not a failed attempt).
pub(crate) async fn edx_username(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<String, JobError> {
    store::openedx::account(db, user_id)
        .await?
        .filter(|a| a.has_been_synced)
        .and_then(|a| a.edx_username)
        .ok_or_else(|| JobError::wait(EDX_WAIT, "the learner has no edX account yet"))
}

/// Queues the user's edX account and every active enrollment edX lacks (staff's re-sync);
/// the jobs' unique keys make repeated clicks harmless.
pub async fn resync(store: &store::Store, user_id: i64) -> Result<(), sea_orm::DbErr> {
    let txn = store.write().await?;
    CreateEdxUser { user_id }.enqueue(&txn).await?;
    for e in store::enrollments::of_user(&txn, user_id)
        .await?
        .into_iter()
        .filter(|e| e.active && !e.edx_enrolled)
    {
        crate::enrollments::SyncEdxEnrollment {
            enrollment_id: e.id,
        }
        .enqueue(&txn)
        .await?;
    }
    txn.commit().await
}
