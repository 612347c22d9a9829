//! Course-run enrollments: one row per user and run, deactivated rather than deleted, with
//! the reason (`change_status`: unenrolled, refunded, deferred, transferred) and whether
//! Open edX has it.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, FromQueryResult,
    IntoActiveModel, QueryFilter, QueryOrder, Set,
};

use crate::entity::enrollment;

pub use crate::entity::enrollment::Model as Enrollment;

pub async fn find(db: &impl ConnectionTrait, id: i64) -> Result<Option<Enrollment>, DbErr> {
    enrollment::Entity::find_by_id(id).one(db).await
}

pub async fn of_user(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<Enrollment>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::UserId.eq(user_id))
        .order_by_desc(enrollment::Column::Id)
        .all(db)
        .await
}

pub async fn for_run(
    db: &impl ConnectionTrait,
    user_id: i64,
    run_id: i64,
) -> Result<Option<Enrollment>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::UserId.eq(user_id))
        .filter(enrollment::Column::RunId.eq(run_id))
        .one(db)
        .await
}

/// Enrolls (or re-activates a past enrollment), waiting for Open edX to be told.
pub async fn activate(
    db: &impl ConnectionTrait,
    user_id: i64,
    run_id: i64,
    mode: &str,
    now: DateTime<Utc>,
) -> Result<Enrollment, DbErr> {
    // One statement: a new row, or the learner's row for the run made active in `mode` and
    // due to be pushed to edX again.
    let row = crate::sql::one(
        db,
        "INSERT INTO course_run_enrollments (user_id, run_id, mode, active, change_status, edx_enrolled, edx_error, edx_emails_subscription, created_on, updated_on) \
         VALUES ($1, $2, $3, $4, NULL, $5, NULL, $4, $6, $6) \
         ON CONFLICT (user_id, run_id) DO UPDATE SET mode = excluded.mode, active = excluded.active, change_status = NULL, \
         edx_enrolled = excluded.edx_enrolled, edx_error = NULL, updated_on = excluded.updated_on \
         RETURNING id, user_id, run_id, mode, active, change_status, edx_enrolled, edx_error, edx_emails_subscription, created_on, updated_on",
        vec![
            user_id.into(),
            run_id.into(),
            mode.into(),
            true.into(),
            false.into(),
            now.into(),
        ],
    )
    .await?
    .ok_or_else(|| DbErr::RecordNotFound("the enrollment just written".into()))?;
    Enrollment::from_query_result(&row, "")
}

pub async fn deactivate(
    db: &impl ConnectionTrait,
    row: Enrollment,
    change_status: &str,
    now: DateTime<Utc>,
) -> Result<Enrollment, DbErr> {
    let mut row = row.into_active_model();
    row.active = Set(false);
    row.change_status = Set(Some(change_status.to_string()));
    row.updated_on = Set(now);
    row.update(db).await
}

/// Records what Open edX answered for an enrollment.
pub async fn record_edx(
    db: &impl ConnectionTrait,
    id: i64,
    enrolled: bool,
    error: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    if let Some(row) = find(db, id).await? {
        let mut row = row.into_active_model();
        row.edx_enrolled = Set(enrolled);
        row.edx_error = Set(error.map(str::to_string));
        row.updated_on = Set(now);
        row.update(db).await?;
    }
    Ok(())
}

/// Records the learner's choice about a course's email.
pub async fn set_email_subscription(
    db: &impl ConnectionTrait,
    row: Enrollment,
    receive: bool,
    now: DateTime<Utc>,
) -> Result<Enrollment, DbErr> {
    let mut row = row.into_active_model();
    row.edx_emails_subscription = Set(receive);
    row.updated_on = Set(now);
    row.update(db).await
}

/// The Open edX course key of a run.
/// What an enrollment's job and messages need of its run, without loading the catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunFacts {
    pub courseware_id: String,
    pub run_tag: String,
    pub start: Option<DateTime<Utc>>,
    pub course_title: String,
    /// `xpro` or `mitxonline`.
    pub site: String,
}

pub async fn run_facts(db: &impl ConnectionTrait, run_id: i64) -> Result<Option<RunFacts>, DbErr> {
    crate::sql::one(
        db,
        "SELECT r.courseware_id, r.run_tag, r.start_date, c.title, c.site FROM course_runs r \
         JOIN courses c ON c.id = r.course_id WHERE r.id = $1",
        vec![run_id.into()],
    )
    .await?
    .map(|r| {
        Ok(RunFacts {
            courseware_id: r.try_get("", "courseware_id")?,
            run_tag: r.try_get("", "run_tag")?,
            start: r.try_get("", "start_date")?,
            course_title: r.try_get("", "title")?,
            site: r.try_get("", "site")?,
        })
    })
    .transpose()
}

/// Active enrollments Open edX does not have yet, for the retry job.
pub async fn not_in_edx(db: &impl ConnectionTrait) -> Result<Vec<Enrollment>, DbErr> {
    enrollment::Entity::find()
        .filter(enrollment::Column::Active.eq(true))
        .filter(enrollment::Column::EdxEnrolled.eq(false))
        .all(db)
        .await
}

/// Enrolls in a program (or re-activates the enrollment), e.g. on its purchase.
pub async fn activate_program(
    db: &impl ConnectionTrait,
    user_id: i64,
    program_id: i64,
    mode: &str,
    order_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    crate::sql::run(
        db,
        "INSERT INTO program_enrollments (user_id, program_id, mode, active, order_id, created_on, updated_on) VALUES ($1, $2, $3, $4, $5, $6, $6) \
         ON CONFLICT (user_id, program_id) DO UPDATE SET mode = excluded.mode, active = excluded.active, change_status = NULL, order_id = excluded.order_id, updated_on = excluded.updated_on",
        vec![user_id.into(), program_id.into(), mode.into(), true.into(), order_id.into(), now.into()],
    )
    .await
    .map(|_| ())
}

/// A learner's enrollment in a program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgramEnrollment {
    pub id: i64,
    pub program_id: i64,
    pub mode: String,
    pub active: bool,
    pub change_status: Option<String>,
    /// The order that bought it, when it was bought.
    pub order_id: Option<i64>,
}

/// The learner's program enrollments, active or not, oldest first.
pub async fn program_enrollments_of(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<ProgramEnrollment>, DbErr> {
    crate::sql::all_as(
        db,
        "SELECT id, program_id, mode, active, change_status, order_id FROM program_enrollments WHERE user_id = $1 ORDER BY id",
        vec![user_id.into()],
        |r| {
            Ok(ProgramEnrollment {
                id: r.try_get("", "id")?,
                program_id: r.try_get("", "program_id")?,
                mode: r.try_get("", "mode")?,
                active: r.try_get("", "active")?,
                change_status: r.try_get("", "change_status")?,
                order_id: r.try_get("", "order_id")?,
            })
        },
    )
    .await
}

/// The programs a learner is actively enrolled in: (program id, mode).
pub async fn programs_of(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<(i64, String)>, DbErr> {
    Ok(programs_of_users(db, &[user_id])
        .await?
        .into_iter()
        .map(|(_, program, mode)| (program, mode))
        .collect())
}

/// Active program enrollments of these learners: (learner, program id, mode).
pub async fn programs_of_users(
    db: &impl ConnectionTrait,
    users: &[i64],
) -> Result<Vec<(i64, i64, String)>, DbErr> {
    crate::sql::all_in(
        db,
        "SELECT user_id, program_id, mode FROM program_enrollments WHERE active = $1 AND user_id IN ({ids}) ORDER BY id",
        vec![true.into()],
        users,
        |r| {
            Ok((
                r.try_get("", "user_id")?,
                r.try_get("", "program_id")?,
                r.try_get("", "mode")?,
            ))
        },
    )
    .await
}

/// Which of these learners hold an active paid (not audit) enrollment in the run.
pub async fn paid_in_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    users: &[i64],
) -> Result<std::collections::HashSet<i64>, DbErr> {
    Ok(crate::sql::all_in(
        db,
        "SELECT user_id FROM course_run_enrollments WHERE run_id = $1 AND active = $2 AND mode <> $3 AND user_id IN ({ids})",
        vec![run_id.into(), true.into(), "audit".into()],
        users,
        |r| r.try_get("", "user_id"),
    )
    .await?
    .into_iter()
    .collect())
}

/// Ends a program enrollment with a change status (a refund).
pub async fn deactivate_program(
    db: &impl ConnectionTrait,
    user_id: i64,
    program_id: i64,
    change_status: &str,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    crate::sql::run(
        db,
        "UPDATE program_enrollments SET active = $1, change_status = $2, updated_on = $3 WHERE user_id = $4 AND program_id = $5",
        vec![false.into(), change_status.into(), now.into(), user_id.into(), program_id.into()],
    )
    .await
    .map(|_| ())
}

/// Mirrors an enrollment Open edX made (MITx Online `create_local_enrollment`): the
/// learner's row for the run, created in audit or made active again, marked as in edX.
/// `true` when it was created.
pub async fn mirror(
    db: &impl ConnectionTrait,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<(Enrollment, bool), DbErr> {
    if let Some(existing) = for_run(db, user_id, run_id).await? {
        if existing.active && existing.edx_enrolled {
            return Ok((existing, false));
        }
        let mut row = existing.into_active_model();
        row.active = Set(true);
        row.change_status = Set(None);
        row.edx_enrolled = Set(true);
        row.edx_error = Set(None);
        row.updated_on = Set(now);
        return Ok((row.update(db).await?, false));
    }
    let row = activate(db, user_id, run_id, "audit", now).await?;
    let mut row = row.into_active_model();
    row.edx_enrolled = Set(true);
    Ok((row.update(db).await?, true))
}

/// Active program enrollments whose learner holds no certificate of the program.
pub async fn programs_without_certificates(
    db: &impl ConnectionTrait,
) -> Result<Vec<(i64, i64)>, DbErr> {
    crate::sql::all_as(
        db,
        "SELECT e.user_id, e.program_id FROM program_enrollments e WHERE e.active = $1 \
         AND NOT EXISTS (SELECT 1 FROM program_certificates c WHERE c.user_id = e.user_id AND c.program_id = e.program_id) \
         ORDER BY e.user_id, e.program_id",
        vec![true.into()],
        |r| Ok((r.try_get("", "user_id")?, r.try_get("", "program_id")?)),
    )
    .await
}
