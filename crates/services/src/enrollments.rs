//! Free (audit) enrollment and unenrollment, and pushing both to Open edX from jobs: the
//! local record is written first, with its edX job in the same transaction; a failed
//! push is retried by the job and, after that, by the retry schedule (reference
//! `retry_failed_edx_enrollments`, every 30 minutes).

use chrono::{DateTime, Utc};
use domain::catalog::predicates::open_for_enrollment;
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::Store;
use store::catalog::read::CatalogView;
use store::enrollments::{self, Enrollment, RunFacts};

use crate::Context;
use crate::edx_token::with_user_token;
use crate::emails;
use crate::mail::Mail;
use crate::openedx::{edx_outcome, edx_username};

#[derive(Debug, thiserror::Error)]
pub enum EnrollError {
    #[error("there is no such course run")]
    NoSuchRun,
    #[error("this run is not open for enrollment")]
    Closed,
    #[error("this run has no free (audit) track; paid enrollment is not available yet")]
    NotFree,
    #[error("you are already enrolled in this run")]
    AlreadyEnrolled,
    #[error("there is no such enrollment")]
    NoSuchEnrollment,
    #[error("this course is not offered in your country")]
    CountryBlocked,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Tells Open edX about one enrollment's current state (active or not).
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncEdxEnrollment {
    pub enrollment_id: i64,
}

/// Whether the course is not offered in the country of the learner's legal address
/// (MITx Online `BlockedCountry`).
pub async fn country_blocked(
    db: &impl ConnectionTrait,
    user_id: i64,
    course: &store::catalog::read::CourseView,
) -> Result<bool, DbErr> {
    if course.blocked_countries.is_empty() {
        return Ok(false);
    }
    Ok(store::accounts::address(db, user_id)
        .await?
        .is_some_and(|a| course.blocked_countries.contains(&a.country.to_uppercase())))
}

/// Enrolls a learner for free (audit) in an open run that offers audit, with its edX
/// push queued in the same transaction.
pub async fn enroll_free(
    store: &Store,
    view: &CatalogView,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<Enrollment, EnrollError> {
    let txn = store.write().await?;
    let enrollment = enroll_free_in(&txn, view, user_id, run_id, now).await?;
    txn.commit().await?;
    Ok(enrollment)
}

async fn enroll_free_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<Enrollment, EnrollError> {
    let (course, run) = view.run(run_id).ok_or(EnrollError::NoSuchRun)?;
    if !course.live || !open_for_enrollment(course.site, &run.window, now) {
        return Err(EnrollError::Closed);
    }
    if !run.has_mode("audit") {
        return Err(EnrollError::NotFree);
    }
    if country_blocked(db, user_id, course).await? {
        return Err(EnrollError::CountryBlocked);
    }
    if enrollments::for_run(db, user_id, run_id)
        .await?
        .is_some_and(|e| e.active)
    {
        return Err(EnrollError::AlreadyEnrolled);
    }
    let enrollment = enrollments::activate(db, user_id, run_id, "audit", now).await?;
    SyncEdxEnrollment {
        enrollment_id: enrollment.id,
    }
    .enqueue(db)
    .await?;
    Ok(enrollment)
}

#[derive(Debug, thiserror::Error)]
pub enum DeferError {
    #[error("'from' and 'to' ids are identical")]
    Same,
    #[error("'from' course run enrollment does not exist")]
    NoFrom,
    #[error("'to' course run does not exist")]
    NoTo,
    #[error("Invalid deferral: {0}")]
    Invalid(&'static str),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Moves a learner's enrollment to another run (xPRO `defer_enrollment`): the learner is
/// enrolled in the new run in the same track and the old enrollment ends as `deferred`,
/// both pushed to edX, and the learner is told where the enrollment went (the references
/// only send the unenrollment message). Unless `force`d (staff decided), the old
/// enrollment must be active, the runs of one course and the new run open.
#[allow(clippy::too_many_arguments)]
pub async fn defer(
    store: &Store,
    view: &CatalogView,
    site_url: &str,
    user_id: i64,
    from: &str,
    to: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<(Enrollment, Enrollment), DeferError> {
    let txn = store.write().await?;
    let moved = defer_in(&txn, view, site_url, user_id, from, to, force, now).await?;
    txn.commit().await?;
    Ok(moved)
}

/// `defer`, in the caller's transaction.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn defer_in(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    site_url: &str,
    user_id: i64,
    from: &str,
    to: &str,
    force: bool,
    now: DateTime<Utc>,
) -> Result<(Enrollment, Enrollment), DeferError> {
    if from.trim() == to.trim() {
        return Err(DeferError::Same);
    }
    let (from_course, from_run) = view.run_by_courseware_id(from).ok_or(DeferError::NoFrom)?;
    let (to_course, to_run) = view.run_by_courseware_id(to).ok_or(DeferError::NoTo)?;
    let old = enrollments::for_run(db, user_id, from_run.id)
        .await?
        .ok_or(DeferError::NoFrom)?;
    if !force {
        if !old.active {
            return Err(DeferError::Invalid("the 'from' enrollment is not active"));
        }
        if from_course.id != to_course.id {
            return Err(DeferError::Invalid("the runs belong to different courses"));
        }
        if !open_for_enrollment(to_course.site, &to_run.window, now) {
            return Err(DeferError::Invalid(
                "the 'to' run is not open for enrollment",
            ));
        }
    }
    let new = enrollments::activate(db, user_id, to_run.id, &old.mode, now).await?;
    SyncEdxEnrollment {
        enrollment_id: new.id,
    }
    .enqueue(db)
    .await?;
    let old = if old.active {
        let old = enrollments::deactivate(db, old, "deferred", now).await?;
        SyncEdxEnrollment {
            enrollment_id: old.id,
        }
        .enqueue(db)
        .await?;
        old
    } else {
        old
    };
    if let Some(user) = store::accounts::find(db, user_id).await? {
        Mail::compose(
            &user.email,
            &format!("Your enrollment in {} has moved", to_course.title),
            &emails::Deferral {
                name: &user.name,
                title: &to_course.title,
                from_run: &from_run.run_tag,
                to_run: &to_run.run_tag,
                dashboard: emails::link(site_url, "/dashboard"),
            },
        )
        .send(db)
        .await?;
    }
    Ok((old, new))
}

/// The learner's own active enrollment; anyone else's is as good as missing.
async fn own_active(
    db: &impl ConnectionTrait,
    user_id: i64,
    enrollment_id: i64,
) -> Result<Enrollment, EnrollError> {
    enrollments::find(db, enrollment_id)
        .await?
        .filter(|e| e.user_id == user_id && e.active)
        .ok_or(EnrollError::NoSuchEnrollment)
}

/// Unenrolls (change status `unenrolled`); the learner's own enrollments only.
pub async fn unenroll(
    store: &Store,
    user_id: i64,
    enrollment_id: i64,
    now: DateTime<Utc>,
) -> Result<Enrollment, EnrollError> {
    let txn = store.write().await?;
    let enrollment = own_active(&txn, user_id, enrollment_id).await?;
    let enrollment = enrollments::deactivate(&txn, enrollment, "unenrolled", now).await?;
    SyncEdxEnrollment {
        enrollment_id: enrollment.id,
    }
    .enqueue(&txn)
    .await?;
    txn.commit().await?;
    Ok(enrollment)
}

impl Job for SyncEdxEnrollment {
    const KIND: &'static str = "openedx.sync_enrollment";
    const MAX_ATTEMPTS: u32 = 8;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("enrollment:{}", self.enrollment_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let Some(edx) = &ctx.openedx else {
            // No LMS here: nothing to do (a dead job per enrollment would only be noise).
            // Once one is configured, the repair and retry schedules catch up.
            return Ok(());
        };
        let enrollment = existing(db, self.enrollment_id).await?;
        let username = edx_username(db, enrollment.user_id).await?;
        let run = run_facts(db, &enrollment).await?;
        let course_id = &run.courseware_id;
        let now = Utc::now();
        match edx
            .set_enrollment(&username, course_id, &enrollment.mode, enrollment.active)
            .await
        {
            Ok(edx_mode) => {
                // The state and its message commit together, so a retry mails nothing twice.
                let txn = ctx.store.write().await?;
                enrollments::record_edx(&txn, enrollment.id, enrollment.active, None, now).await?;
                if let Some(mail) = enrollment_mail(&txn, ctx, &enrollment, &run).await? {
                    mail.send(&txn).await?;
                }
                txn.commit().await?;
                tracing::info!(enrollment = enrollment.id, %course_id, active = enrollment.active, %edx_mode, "edX enrollment updated");
                Ok(())
            }
            Err(error) => {
                // What edX holds is unchanged by a failed call: an enrollment it has stays
                // "in edX" (a failed re-sync used to mark it missing).
                enrollments::record_edx(
                    db,
                    enrollment.id,
                    enrollment.edx_enrolled,
                    Some(&error.to_string()),
                    now,
                )
                .await?;
                Err(edx_outcome(error))
            }
        }
    }
}

async fn existing(db: &impl ConnectionTrait, id: i64) -> Result<Enrollment, JobError> {
    enrollments::find(db, id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("enrollment {id} is gone")))
}

async fn run_facts(
    db: &impl ConnectionTrait,
    enrollment: &Enrollment,
) -> Result<RunFacts, JobError> {
    enrollments::run_facts(db, enrollment.run_id)
        .await?
        .ok_or_else(|| JobError::Permanent(format!("run {} is gone", enrollment.run_id)))
}

/// The message an edX enrollment change that just succeeded sends, if any: a MITx Online
/// learner newly enrolled in edX hears so (`course_run_enrollment`; xPRO's welcome email
/// is off by default there and not sent); a learner removed from edX hears so on both
/// storefronts (`course_run_unenrollment`), with the reason when it was not their choice.
async fn enrollment_mail(
    db: &impl ConnectionTrait,
    ctx: &Context,
    enrollment: &Enrollment,
    run: &RunFacts,
) -> Result<Option<Mail>, DbErr> {
    let Some(user) = store::accounts::find(db, enrollment.user_id).await? else {
        return Ok(None);
    };
    let dashboard = emails::link(&ctx.site_url, "/dashboard");
    let newly_enrolled = enrollment.active && !enrollment.edx_enrolled;
    // A deferred learner has the deferral message already.
    let removed = !enrollment.active
        && enrollment.edx_enrolled
        && enrollment.change_status.as_deref() != Some("deferred");
    Ok(if newly_enrolled && run.site == "mitxonline" {
        Some(Mail::compose(
            &user.email,
            &format!("You have been enrolled in {}", run.course_title),
            &emails::Enrollment {
                name: &user.name,
                title: &run.course_title,
                run: &run.run_tag,
                start: run.start.map(|s| s.format("%b %-d, %Y").to_string()),
                dashboard,
            },
        ))
    } else if removed {
        let reason = match enrollment.change_status.as_deref() {
            Some("refunded") => Some("your order was refunded"),
            Some("transferred") => Some("your enrollment was transferred"),
            _ => None,
        };
        Some(Mail::compose(
            &user.email,
            &format!("You have been unenrolled in {}", run.course_title),
            &emails::Unenrollment {
                name: &user.name,
                title: &run.course_title,
                run: &run.run_tag,
                reason,
                dashboard,
            },
        ))
    } else {
        None
    })
}

/// Records the learner's choice about a course's email (their own, active enrollment) and
/// has it pushed to edX; the choice is kept even while edX is away.
pub async fn set_course_emails(
    store: &Store,
    user_id: i64,
    enrollment_id: i64,
    receive: bool,
    now: DateTime<Utc>,
) -> Result<Enrollment, EnrollError> {
    let txn = store.write().await?;
    let enrollment = set_course_emails_in(&txn, user_id, enrollment_id, receive, now).await?;
    txn.commit().await?;
    Ok(enrollment)
}

async fn set_course_emails_in(
    db: &impl ConnectionTrait,
    user_id: i64,
    enrollment_id: i64,
    receive: bool,
    now: DateTime<Utc>,
) -> Result<Enrollment, EnrollError> {
    let enrollment = own_active(db, user_id, enrollment_id).await?;
    let enrollment = enrollments::set_email_subscription(db, enrollment, receive, now).await?;
    SyncEdxEmailSettings { enrollment_id }.enqueue(db).await?;
    Ok(enrollment)
}

/// Pushes an enrollment's course-email choice to edX with the learner's own token
/// (reference `subscribe_to_edx_course_emails` / `unsubscribe_from_edx_course_emails`).
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncEdxEmailSettings {
    pub enrollment_id: i64,
}

impl Job for SyncEdxEmailSettings {
    const KIND: &'static str = "openedx.email_settings";
    const MAX_ATTEMPTS: u32 = 8;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("enrollment:{}", self.enrollment_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = &ctx.openedx else {
            return Ok(());
        };
        let db = ctx.store.db();
        let mut pushed = None;
        // A change made while this ran found the job still pending and was absorbed into
        // it: push until what edX has is what the learner last chose.
        loop {
            let enrollment = existing(db, self.enrollment_id).await?;
            let receive = enrollment.edx_emails_subscription;
            if pushed == Some(receive) {
                return Ok(());
            }
            // A token can only be minted for an edX account that exists: wait for it.
            edx_username(db, enrollment.user_id).await?;
            let course_id = run_facts(db, &enrollment).await?.courseware_id;
            with_user_token(ctx, edx, enrollment.user_id, |token| async move {
                edx.set_email_opt_in(&token, &course_id, receive).await
            })
            .await?;
            pushed = Some(receive);
        }
    }
}

/// Re-enqueues every active enrollment Open edX does not have.
#[derive(Debug, Serialize, Deserialize)]
pub struct RetryFailedEdxEnrollments {}

impl Job for RetryFailedEdxEnrollments {
    const KIND: &'static str = "openedx.retry_failed_enrollments";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        if ctx.openedx.is_none() {
            return Ok(());
        }
        let db = ctx.store.db();
        for enrollment in enrollments::not_in_edx(db).await? {
            SyncEdxEnrollment {
                enrollment_id: enrollment.id,
            }
            .enqueue(db)
            .await?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ProgramError {
    #[error("This program was paid for: ask for a refund to leave it.")]
    Paid,
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Enrolls a learner in a program (audit, free); `true` when this made a new or renewed
/// enrollment, `false` when they were already in it.
pub async fn enroll_in_program(
    store: &Store,
    user_id: i64,
    program_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    let txn = store.write().await?;
    let already = enrollments::program_enrollments_of(&txn, user_id)
        .await?
        .into_iter()
        .any(|e| e.program_id == program_id && e.active);
    if !already {
        enrollments::activate_program(&txn, user_id, program_id, "audit", None, now).await?;
    }
    txn.commit().await?;
    Ok(!already)
}

/// Leaves a program (nothing to do when not in it); a bought program is left through a
/// refund instead.
pub async fn leave_program(
    store: &Store,
    user_id: i64,
    program_id: i64,
    now: DateTime<Utc>,
) -> Result<(), ProgramError> {
    let txn = store.write().await?;
    let enrollment = enrollments::program_enrollments_of(&txn, user_id)
        .await?
        .into_iter()
        .find(|e| e.program_id == program_id && e.active);
    if let Some(e) = enrollment {
        if e.order_id.is_some() {
            return Err(ProgramError::Paid);
        }
        enrollments::deactivate_program(&txn, user_id, program_id, "unenrolled", now).await?;
    }
    txn.commit().await?;
    Ok(())
}

/// Mirrors an enrollment Open edX made (`store::enrollments::mirror`); `true` when created.
pub async fn mirror(
    store: &Store,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<(Enrollment, bool), DbErr> {
    let txn = store.write().await?;
    let mirrored = enrollments::mirror(&txn, user_id, run_id, now).await?;
    txn.commit().await?;
    Ok(mirrored)
}
