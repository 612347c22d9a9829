//! The export-compliance gate of local sign-up (xPRO `verify_exports_compliance` and
//! `activate_user`): a new account stays inactive until CyberSource's export service
//! clears it. A job screens it, so an outage of the service delays an account and never
//! loses one: temporary failures are retried and, as in the reference, not logged. Every
//! answer is logged with the exchange sealed to the operator's public key; a denial keeps
//! the account blocked and alerts the admin address; staff may approve manually.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use crypto_box::aead::OsRng;
use crypto_box::{PublicKey, SecretKey};
use domain::compliance::{ComputedResult, verdict};
use integrations::cybersource::export::{ExportError, ExportService, Subject};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
use store::Store;
use store::accounts::User;
use store::compliance::{self, NewInquiry};

use crate::Context;
use crate::emails;
use crate::mail::Mail;
use crate::openedx::CreateEdxUser;

/// What screening needs besides the database: the service, the key logs are sealed to,
/// and who hears of a denial.
pub struct Screening {
    pub service: ExportService,
    pub public_key: PublicKey,
    pub admin_email: Option<String>,
}

fn key_bytes(base64: &str, what: &str) -> Result<[u8; 32], String> {
    STANDARD
        .decode(base64.trim())
        .map_err(|e| format!("the {what} key is not base64: {e}"))?
        .try_into()
        .map_err(|_| format!("a NaCl {what} key is 32 bytes"))
}

/// Reads a base64 NaCl public key (the reference's `CYBERSOURCE_INQUIRY_LOG_NACL_ENCRYPTION_KEY`).
pub fn public_key(base64: &str) -> Result<PublicKey, String> {
    key_bytes(base64, "public").map(PublicKey::from)
}

/// A new key pair as base64 (public, private), for `registrar admin exports-inquiry keygen`.
pub fn new_key_pair() -> (String, String) {
    let secret = SecretKey::generate(&mut OsRng);
    (
        STANDARD.encode(secret.public_key().as_bytes()),
        STANDARD.encode(secret.to_bytes()),
    )
}

fn seal(key: &PublicKey, text: &str) -> Result<String, JobError> {
    key.seal(&mut OsRng, text.as_bytes())
        .map(|sealed| STANDARD.encode(sealed))
        .map_err(|e| JobError::Permanent(format!("sealing the inquiry log: {e}")))
}

fn secret_key(private_key: &str) -> Result<SecretKey, String> {
    key_bytes(private_key, "private").map(SecretKey::from)
}

/// The public half of a base64 private key.
pub fn public_key_of(private_key: &str) -> Result<String, String> {
    Ok(STANDARD.encode(secret_key(private_key)?.public_key().as_bytes()))
}

/// Opens a sealed log field with the private key (base64).
pub fn unseal(private_key: &str, sealed: &str) -> Result<String, String> {
    let opened = secret_key(private_key)?
        .unseal(
            &STANDARD
                .decode(sealed)
                .map_err(|e| format!("the log is not base64: {e}"))?,
        )
        .map_err(|_| "this key does not open the log".to_string())?;
    String::from_utf8(opened).map_err(|e| e.to_string())
}

/// Activates a cleared account and provisions it into Open edX, in the caller's
/// transaction (reference `activate_user`, then `create_courseware_user`).
async fn activate(db: &impl ConnectionTrait, user: User, provision: bool) -> Result<(), DbErr> {
    let id = user.id;
    store::accounts::update(db, user, |u| u.is_active = Set(true)).await?;
    if provision {
        CreateEdxUser { user_id: id }.enqueue(db).await?;
    }
    Ok(())
}

/// Screens one new account.
#[derive(Debug, Serialize, Deserialize)]
pub struct ScreenUser {
    pub user_id: i64,
}

impl Job for ScreenUser {
    const KIND: &'static str = "compliance.screen_user";
    const MAX_ATTEMPTS: u32 = 12;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("user:{}", self.user_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let provision = ctx.openedx.is_some();
        let user = store::accounts::find(db, self.user_id)
            .await?
            .ok_or_else(|| JobError::Permanent(format!("user {} is gone", self.user_id)))?;
        let latest = compliance::latest(db, user.id).await?;
        // Skipped for active users already screened, as in the reference.
        if user.is_active && latest.is_some() {
            return Ok(());
        }
        let Some(screening) = &ctx.compliance else {
            // Screening was turned off while this account waited: nothing gates it now.
            let txn = db.begin().await?;
            activate(&txn, user, provision).await?;
            return Ok(txn.commit().await?);
        };
        let address = store::accounts::address(db, user.id)
            .await?
            .unwrap_or_default();
        let reply = screening
            .service
            .screen(&Subject {
                reference: user.id,
                first_name: &address.first_name,
                last_name: &address.last_name,
                email: &user.email,
                country: &address.country,
                state: address.state.as_deref(),
            })
            .await
            .map_err(|e| match e {
                ExportError::Transient(m) => JobError::Retry(m),
                ExportError::Permanent(m) => JobError::Permanent(m),
            })?;
        let result = verdict(reply.reason_code, reply.info_code.as_deref());
        if result == ComputedResult::TemporaryFailure {
            return Err(JobError::Retry(format!(
                "CyberSource could not screen now (reason {})",
                reply.reason_code
            )));
        }
        let (request, response) = (
            seal(&screening.public_key, &reply.request)?,
            seal(&screening.public_key, &reply.response)?,
        );
        let txn = db.begin().await?;
        compliance::record(
            &txn,
            &NewInquiry {
                user_id: user.id,
                computed_result: result,
                reason_code: reply.reason_code,
                info_code: reply.info_code.as_deref(),
                encrypted_request: &request,
                encrypted_response: &response,
            },
            Utc::now(),
        )
        .await?;
        match result {
            ComputedResult::Success => {
                activate(&txn, user.clone(), provision).await?;
            }
            ComputedResult::Denied => {
                tracing::warn!(user = user.id, reason = reply.reason_code, info = ?reply.info_code, "export compliance denied");
                if let Some(admin) = &screening.admin_email {
                    Mail::compose(
                        admin,
                        &format!("Exports Compliance: denied {}", user.email),
                        &emails::ComplianceDenied {
                            email: &user.email,
                            user_id: user.id,
                            reason_code: reply.reason_code,
                            info_code: reply.info_code.as_deref().unwrap_or("none"),
                        },
                    )
                    .send(&txn)
                    .await?;
                }
            }
            _ => {
                tracing::error!(
                    user = user.id,
                    reason = reply.reason_code,
                    "export compliance answered an unknown reason code; staff must review"
                );
            }
        }
        Ok(txn.commit().await?)
    }
}

/// The verdict on a user's latest screening, if screened.
pub async fn latest_result(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<ComputedResult>, DbErr> {
    Ok(compliance::latest(db, user_id)
        .await?
        .map(|i| i.computed_result))
}

#[derive(Debug, thiserror::Error)]
pub enum ApprovalError {
    #[error("the user has no screening to approve")]
    NothingToApprove,
    #[error("the user's screening already cleared them")]
    AlreadyCleared,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Staff clear a learner the service denied or could not judge: the latest inquiry becomes
/// MANUALLY_APPROVED and the account is activated.
pub async fn approve_manually(
    store: &Store,
    user: User,
    provision: bool,
    now: DateTime<Utc>,
) -> Result<(), ApprovalError> {
    let txn = store.write().await?;
    approve_manually_in(&txn, user, provision, now).await?;
    txn.commit().await?;
    Ok(())
}

async fn approve_manually_in(
    db: &impl ConnectionTrait,
    user: User,
    provision: bool,
    now: DateTime<Utc>,
) -> Result<(), ApprovalError> {
    let latest = compliance::latest(db, user.id)
        .await?
        .ok_or(ApprovalError::NothingToApprove)?;
    if latest.computed_result.clears() {
        return Err(ApprovalError::AlreadyCleared);
    }
    compliance::approve_manually(db, latest.id, now).await?;
    tracing::info!(
        user = user.id,
        inquiry = latest.id,
        "export compliance approved manually"
    );
    activate(db, user, provision).await?;
    Ok(())
}
