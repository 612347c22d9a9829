//! Grades and certificates: one grade per learner and run (a staff override marked as such),
//! course-run and program certificates found by a public uuid, revoked with a reason.

use chrono::{DateTime, Utc};
use domain::certificates::Grade;
use sea_orm::{ConnectionTrait, DbErr, QueryResult};

use std::collections::HashMap;

use crate::sql::{all_as, all_in, insert_rows, run};

fn read_grade(r: &QueryResult) -> Result<Grade, DbErr> {
    Ok(Grade {
        grade: r.try_get("", "grade")?,
        letter: r.try_get("", "letter_grade")?,
        passed: r.try_get("", "passed")?,
        set_by_admin: r.try_get("", "set_by_admin")?,
    })
}

pub async fn grade(
    db: &impl ConnectionTrait,
    user_id: i64,
    run_id: i64,
) -> Result<Option<Grade>, DbErr> {
    Ok(grades_in_run(db, run_id, &[user_id])
        .await?
        .remove(&user_id))
}

/// The stored grades of these learners in a run.
pub async fn grades_in_run(
    db: &impl ConnectionTrait,
    run_id: i64,
    users: &[i64],
) -> Result<HashMap<i64, Grade>, DbErr> {
    Ok(all_in(
        db,
        "SELECT user_id, grade, letter_grade, passed, set_by_admin FROM course_run_grades WHERE run_id = $1 AND user_id IN ({ids})",
        vec![run_id.into()],
        users,
        |r| Ok((r.try_get("", "user_id")?, read_grade(&r)?)),
    )
    .await?
    .into_iter()
    .collect())
}

pub async fn save_grade(
    db: &impl ConnectionTrait,
    user_id: i64,
    run_id: i64,
    grade: &Grade,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    save_grades(db, run_id, &[(user_id, grade.clone())], now).await
}

/// Stores grades of a run (new, or replacing the learner's), a few statements for any number.
pub async fn save_grades(
    db: &impl ConnectionTrait,
    run_id: i64,
    grades: &[(i64, Grade)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    let rows = grades
        .iter()
        .map(|(user_id, grade)| {
            vec![
                (*user_id).into(),
                run_id.into(),
                grade.grade.into(),
                grade.letter.clone().into(),
                grade.passed.into(),
                grade.set_by_admin.into(),
                now.into(),
            ]
        })
        .collect();
    insert_rows(
        db,
        "INSERT INTO course_run_grades (user_id, run_id, grade, letter_grade, passed, set_by_admin, updated_on)",
        "ON CONFLICT (user_id, run_id) DO UPDATE SET grade = excluded.grade, \
         letter_grade = excluded.letter_grade, passed = excluded.passed, set_by_admin = excluded.set_by_admin, \
         updated_on = excluded.updated_on",
        rows,
        |_| Ok(()),
    )
    .await
    .map(|_| ())
}

/// What a certificate is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Of {
    Run(i64),
    Program(i64),
}

impl Of {
    /// (table, owner column, owner id)
    fn table(self) -> (&'static str, &'static str, i64) {
        match self {
            Of::Run(id) => ("course_run_certificates", "run_id", id),
            Of::Program(id) => ("program_certificates", "program_id", id),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Certificate {
    pub id: i64,
    pub uuid: String,
    pub user_id: i64,
    pub of: Of,
    pub is_revoked: bool,
    pub revoke_reason: Option<String>,
    pub issue_date: DateTime<Utc>,
}

fn certificate(r: QueryResult, program: bool) -> Result<Certificate, DbErr> {
    let owner: i64 = r.try_get("", "owner_id")?;
    Ok(Certificate {
        id: r.try_get("", "id")?,
        uuid: r.try_get("", "uuid")?,
        user_id: r.try_get("", "user_id")?,
        of: if program {
            Of::Program(owner)
        } else {
            Of::Run(owner)
        },
        is_revoked: r.try_get("", "is_revoked")?,
        revoke_reason: r.try_get("", "revoke_reason")?,
        issue_date: r.try_get("", "issue_date")?,
    })
}

async fn select(
    db: &impl ConnectionTrait,
    program: bool,
    filter: &str,
    values: Vec<sea_orm::Value>,
) -> Result<Vec<Certificate>, DbErr> {
    let (table, owner, _) = if program {
        Of::Program(0).table()
    } else {
        Of::Run(0).table()
    };
    all_as(
        db,
        &format!(
            "SELECT id, uuid, user_id, {owner} AS owner_id, is_revoked, revoke_reason, issue_date FROM {table} {filter}"
        ),
        values,
        |r| certificate(r, program),
    )
    .await
}

/// The learner's certificate of a run or program, revoked or not.
pub async fn find(
    db: &impl ConnectionTrait,
    user_id: i64,
    of: Of,
) -> Result<Option<Certificate>, DbErr> {
    let (_, owner, id) = of.table();
    Ok(select(
        db,
        matches!(of, Of::Program(_)),
        &format!("WHERE user_id = $1 AND {owner} = $2"),
        vec![user_id.into(), id.into()],
    )
    .await?
    .pop())
}

/// A certificate by its public uuid, of a run (`program` false) or of a program.
pub async fn by_uuid(
    db: &impl ConnectionTrait,
    uuid: &str,
    program: bool,
) -> Result<Option<Certificate>, DbErr> {
    Ok(select(db, program, "WHERE uuid = $1", vec![uuid.into()])
        .await?
        .pop())
}

/// A certificate of a run or of a program by its uuid.
pub async fn by_any_uuid(
    db: &impl ConnectionTrait,
    uuid: &str,
) -> Result<Option<Certificate>, DbErr> {
    Ok(match by_uuid(db, uuid, false).await? {
        Some(c) => Some(c),
        None => by_uuid(db, uuid, true).await?,
    })
}

/// Every certificate of the learner, runs first, oldest first.
pub async fn of_user(db: &impl ConnectionTrait, user_id: i64) -> Result<Vec<Certificate>, DbErr> {
    let mut out = select(
        db,
        false,
        "WHERE user_id = $1 ORDER BY id",
        vec![user_id.into()],
    )
    .await?;
    out.extend(
        select(
            db,
            true,
            "WHERE user_id = $1 ORDER BY id",
            vec![user_id.into()],
        )
        .await?,
    );
    Ok(out)
}

/// Whose a certificate is, as messages and the CRM name them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holder {
    pub email: String,
    pub name: String,
}

/// These learners' certificates of a run or program (revoked or not), each with its holder.
pub async fn of_learners(
    db: &impl ConnectionTrait,
    of: Of,
    users: &[i64],
) -> Result<Vec<(Certificate, Holder)>, DbErr> {
    let (table, owner, id) = of.table();
    all_in(
        db,
        &format!(
            "SELECT c.id, c.uuid, c.user_id, c.{owner} AS owner_id, c.is_revoked, c.revoke_reason, c.issue_date, u.email, u.name \
             FROM {table} c JOIN users u ON u.id = c.user_id WHERE c.{owner} = $1 AND c.user_id IN ({{ids}}) ORDER BY c.id"
        ),
        vec![id.into()],
        users,
        |r| {
            let holder = Holder {
                email: r.try_get("", "email")?,
                name: r.try_get("", "name")?,
            };
            Ok((certificate(r, matches!(of, Of::Program(_)))?, holder))
        },
    )
    .await
}

/// Issues the certificate unless the learner has one (revoked or not); `true` when issued.
pub async fn issue(
    db: &impl ConnectionTrait,
    user_id: i64,
    of: Of,
    now: DateTime<Utc>,
) -> Result<bool, DbErr> {
    Ok(!issue_to(db, of, &[user_id], now).await?.is_empty())
}

/// Issues the certificate to each of these learners who has none; those it was issued to.
pub async fn issue_to(
    db: &impl ConnectionTrait,
    of: Of,
    users: &[i64],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, DbErr> {
    let (table, owner, id) = of.table();
    let rows = users
        .iter()
        .map(|user_id| {
            vec![
                uuid::Uuid::new_v4().to_string().into(),
                (*user_id).into(),
                id.into(),
                false.into(),
                now.into(),
            ]
        })
        .collect();
    insert_rows(
        db,
        &format!("INSERT INTO {table} (uuid, user_id, {owner}, is_revoked, issue_date)"),
        &format!("ON CONFLICT (user_id, {owner}) DO NOTHING RETURNING user_id"),
        rows,
        |r| r.try_get("", "user_id"),
    )
    .await
}

/// Removes these learners' certificates of a run or program (a zero grade voids a course
/// certificate); the ids of those there were.
pub async fn remove_from(
    db: &impl ConnectionTrait,
    of: Of,
    users: &[i64],
) -> Result<Vec<i64>, DbErr> {
    let (table, owner, id) = of.table();
    all_in(
        db,
        &format!("DELETE FROM {table} WHERE {owner} = $1 AND user_id IN ({{ids}}) RETURNING id"),
        vec![id.into()],
        users,
        |r| r.try_get("", "id"),
    )
    .await
}

/// Revokes (with a reason) or restores (`reason` none) a certificate; `false` if none.
pub async fn set_revoked(
    db: &impl ConnectionTrait,
    user_id: i64,
    of: Of,
    reason: Option<&str>,
) -> Result<bool, DbErr> {
    let (table, owner, id) = of.table();
    Ok(run(
        db,
        &format!(
            "UPDATE {table} SET is_revoked = $1, revoke_reason = $2 WHERE user_id = $3 AND {owner} = $4"
        ),
        vec![
            reason.is_some().into(),
            reason.map(str::to_string).into(),
            user_id.into(),
            id.into(),
        ],
    )
    .await?
        == 1)
}

/// (learner, `owner`) of each row `sql` selects for these learners (`$1` is `flag`).
async fn owned_by(
    db: &impl ConnectionTrait,
    sql: &str,
    flag: bool,
    users: &[i64],
) -> Result<Vec<(i64, i64)>, DbErr> {
    all_in(db, sql, vec![flag.into()], users, |r| {
        Ok((r.try_get("", "user_id")?, r.try_get("", "owner")?))
    })
    .await
}

/// (learner, run) of every valid (not revoked) course certificate of these learners.
pub async fn certified_runs_of(
    db: &impl ConnectionTrait,
    users: &[i64],
) -> Result<Vec<(i64, i64)>, DbErr> {
    let sql = "SELECT user_id, run_id AS owner FROM course_run_certificates WHERE is_revoked = $1 AND user_id IN ({ids})";
    owned_by(db, sql, false, users).await
}

/// (learner, program) of every valid program certificate of these learners.
pub async fn certified_programs_of(
    db: &impl ConnectionTrait,
    users: &[i64],
) -> Result<Vec<(i64, i64)>, DbErr> {
    let sql = "SELECT user_id, program_id AS owner FROM program_certificates WHERE is_revoked = $1 AND user_id IN ({ids})";
    owned_by(db, sql, false, users).await
}

/// (learner, run) of every passing grade of these learners.
pub async fn passed_runs_of(
    db: &impl ConnectionTrait,
    users: &[i64],
) -> Result<Vec<(i64, i64)>, DbErr> {
    let sql = "SELECT user_id, run_id AS owner FROM course_run_grades WHERE passed = $1 AND user_id IN ({ids})";
    owned_by(db, sql, true, users).await
}

/// Every grade of the learner, by run.
pub async fn grades_of_user(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Vec<(i64, Grade)>, DbErr> {
    all_as(
        db,
        "SELECT run_id, grade, letter_grade, passed, set_by_admin FROM course_run_grades WHERE user_id = $1 ORDER BY run_id",
        vec![user_id.into()],
        |r| Ok((r.try_get("", "run_id")?, read_grade(&r)?)),
    )
    .await
}
