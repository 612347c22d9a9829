//! Grades in, certificates out: a run's grades (pulled from Open edX or set by staff) are
//! stored without clobbering staff overrides, each grade is judged by its storefront's
//! certificate rule, and a new course certificate is followed by the programs it completes.

use chrono::{DateTime, Utc};
use domain::catalog::Site;
use domain::certificates::{
    CertificateAction, Grade, RunDates, certificate_action, grade_action, merge_grade,
    run_due_for_sync, tree_earned, xpro_program_earned,
};
use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::catalog::read::{CatalogView, requirement_tree};
use store::certificates::{self as certs, Of};

use crate::Context;
use crate::openedx::{edx_outcome, retry};

/// What applying a run's grades did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    pub grades_changed: u32,
    pub certificates_issued: u32,
    pub certificates_removed: u32,
    pub program_certificates_issued: u32,
}

/// The dates of a run that its certificates depend on.
pub fn run_dates(view: &CatalogView, run_id: i64) -> Option<(Site, RunDates)> {
    let (course, run) = view.run(run_id)?;
    Some((
        course.site,
        RunDates {
            live: course.live && run.window.live,
            is_external: course.is_external,
            is_self_paced: run.is_self_paced,
            end: run.window.end,
            certificate_available: run.certificate_available_date,
        },
    ))
}

/// Applies grades of one run, in the caller's transaction.
pub async fn apply_grades(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    run_id: i64,
    grades: &[(i64, Grade)],
    now: DateTime<Utc>,
) -> Result<Applied, DbErr> {
    apply(db, view, run_id, grades, false, now).await
}

/// [`apply_grades`] without waiting for the run's certificate date (MITx Online's
/// certificate webhook: edX says the learner has earned it now).
pub async fn apply_grades_now(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    run_id: i64,
    grades: &[(i64, Grade)],
    now: DateTime<Utc>,
) -> Result<Applied, DbErr> {
    apply(db, view, run_id, grades, true, now).await
}

async fn apply(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    run_id: i64,
    grades: &[(i64, Grade)],
    force: bool,
    now: DateTime<Utc>,
) -> Result<Applied, DbErr> {
    let mut applied = Applied::default();
    let Some((site, dates)) = run_dates(view, run_id) else {
        return Ok(applied);
    };
    for (user_id, pulled) in grades {
        let stored = certs::grade(db, *user_id, run_id).await?;
        let effective = match merge_grade(stored.as_ref(), pulled) {
            Some(changed) => {
                certs::save_grade(db, *user_id, run_id, &changed, now).await?;
                applied.grades_changed += 1;
                changed
            }
            None => stored.unwrap_or_else(|| pulled.clone()),
        };
        let paid_track = store::enrollments::for_run(db, *user_id, run_id)
            .await?
            .is_some_and(|e| e.active && e.mode != "audit");
        let action = if force {
            grade_action(site, &effective, paid_track)
        } else {
            certificate_action(site, &dates, &effective, paid_track, now)
        };
        match action {
            CertificateAction::Issue => {
                if certs::issue(db, *user_id, Of::Run(run_id), now).await? {
                    applied.certificates_issued += 1;
                    applied.program_certificates_issued +=
                        award_programs(db, view, *user_id, run_id, now).await?;
                }
            }
            CertificateAction::Remove => {
                if certs::remove(db, *user_id, Of::Run(run_id)).await? {
                    applied.certificates_removed += 1;
                }
            }
            CertificateAction::Nothing => {}
        }
    }
    Ok(applied)
}

/// What the learner has earned, read once for every program a new certificate may complete.
struct Record {
    certified_courses: Vec<i64>,
    /// Courses passed in a run without a paid track (MITx Online counts those by grade).
    passed_free_courses: Vec<i64>,
    program_certificates: Vec<i64>,
}

impl Record {
    async fn of(
        db: &impl ConnectionTrait,
        view: &CatalogView,
        user_id: i64,
    ) -> Result<Self, DbErr> {
        let course_of = |run: i64| view.run(run).map(|(c, _)| c.id);
        let mut record = Record {
            certified_courses: certs::certified_runs(db, user_id)
                .await?
                .into_iter()
                .filter_map(course_of)
                .collect(),
            passed_free_courses: Vec::new(),
            program_certificates: Vec::new(),
        };
        for (run, grade) in certs::grades_of_user(db, user_id).await? {
            if grade.passed && view.run(run).is_some_and(|(_, r)| !r.has_mode("verified")) {
                record.passed_free_courses.extend(course_of(run));
            }
        }
        for certificate in certs::of_user(db, user_id).await? {
            if let (Of::Program(id), false) = (certificate.of, certificate.is_revoked) {
                record.program_certificates.push(id);
            }
        }
        Ok(record)
    }

    /// MITx Online `_has_earned_program_cert`.
    fn earned(&self, view: &CatalogView, program_id: i64, depth: u8) -> bool {
        let Some(program) = view.program(program_id) else {
            return false;
        };
        match program.site {
            Site::Xpro => {
                let courses: Vec<i64> = program.course_leaves().iter().map(|(c, _)| *c).collect();
                xpro_program_earned(&courses, &|c| self.certified_courses.contains(&c))
            }
            Site::Mitxonline => tree_earned(
                &requirement_tree(&program.requirements, &|id| id, &|id| id),
                &|c| self.certified_courses.contains(&c) || self.passed_free_courses.contains(&c),
                &|nested| {
                    let paid = view
                        .program(nested)
                        .is_some_and(|p| p.modes.iter().any(|m| m.slug != "audit"));
                    if paid {
                        self.program_certificates.contains(&nested)
                    } else {
                        depth < 8 && self.earned(view, nested, depth + 1)
                    }
                },
            ),
        }
    }
}

/// After a course certificate: a certificate of each live program the course completes
/// (MITx Online also requires a verified program enrollment; xPRO enrolls in the program).
/// How many were issued.
pub async fn award_programs(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    user_id: i64,
    run_id: i64,
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let Some((course, _)) = view.run(run_id) else {
        return Ok(0);
    };
    award(db, view, user_id, &course.programs, now).await
}

/// The certificates of these programs the learner has earned and lacks; how many were issued.
pub async fn award(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    user_id: i64,
    programs: &[i64],
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let record = Record::of(db, view, user_id).await?;
    let enrolled = store::enrollments::programs_of(db, user_id).await?;
    let mut issued = 0;
    for program_id in programs {
        let Some(program) = view.program(*program_id) else {
            continue;
        };
        if !program.live || record.program_certificates.contains(program_id) {
            continue;
        }
        let verified = enrolled
            .iter()
            .any(|(id, mode)| id == program_id && mode != "audit");
        if program.site == Site::Mitxonline && !verified {
            continue;
        }
        if !record.earned(view, *program_id, 0) {
            continue;
        }
        if program.site == Site::Xpro && !verified {
            store::enrollments::activate_program(db, user_id, *program_id, "audit", None, now)
                .await?;
        }
        if certs::issue(db, user_id, Of::Program(*program_id), now).await? {
            issued += 1;
        }
    }
    Ok(issued)
}

/// A grade as edX reports it.
fn from_edx(g: integrations::openedx::CourseGrade) -> Grade {
    Grade {
        grade: g.percent,
        letter: g.letter_grade,
        passed: g.passed,
        set_by_admin: false,
    }
}

/// The scheduled sweep (`generate-course-certificates`): queues a grade sync for every run
/// its storefront's rule says is due.
#[derive(Debug, Serialize, Deserialize)]
pub struct GenerateCourseCertificates {}

impl Job for GenerateCourseCertificates {
    const KIND: &'static str = "courses.generate_course_certificates";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        if ctx.openedx.is_none() {
            return Ok(());
        }
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await.map_err(retry)?;
        let now = Utc::now();
        for course in &view.courses {
            for run in &course.runs {
                if run_dates(&view, run.id)
                    .is_some_and(|(site, dates)| run_due_for_sync(site, &dates, now))
                {
                    SyncRunGrades::enqueue(db, run.id).await.map_err(retry)?;
                }
            }
        }
        Ok(())
    }
}

/// Pulls one run's grades from Open edX and applies them (also staff's "sync now").
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncRunGrades {
    pub run_id: i64,
}

impl SyncRunGrades {
    pub async fn enqueue(db: &impl ConnectionTrait, run_id: i64) -> Result<(), DbErr> {
        jobs::push(
            db,
            &SyncRunGrades { run_id },
            Enqueue {
                unique_key: Some(format!("run:{run_id}")),
                run_at: None,
            },
        )
        .await
        .map(|_| ())
    }
}

impl Job for SyncRunGrades {
    const KIND: &'static str = "courses.sync_run_grades";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = ctx.openedx.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await.map_err(retry)?;
        let Some((_, run)) = view.run(self.run_id) else {
            return Ok(());
        };
        let pulled = edx
            .course_grades(&run.courseware_id, None)
            .await
            .map_err(edx_outcome)?;
        let usernames: Vec<String> = pulled.iter().map(|g| g.username.clone()).collect();
        let users = store::openedx::users_by_edx_username(db, &usernames)
            .await
            .map_err(retry)?;
        // Grades of edX users we do not know are skipped, as both references skip them.
        let grades: Vec<(i64, Grade)> = pulled
            .into_iter()
            .filter_map(|g| Some((*users.get(&g.username)?, from_edx(g))))
            .collect();
        let txn = ctx.store.write().await.map_err(retry)?;
        let applied = apply_grades(&txn, &view, self.run_id, &grades, Utc::now())
            .await
            .map_err(retry)?;
        txn.commit().await.map_err(retry)?;
        tracing::info!(run = self.run_id, ?applied, "grades synced from Open edX");
        Ok(())
    }
}

/// One learner's grade pulled and applied without waiting for the certificate date (MITx
/// Online's certificate webhook: edX says the learner has earned it).
#[derive(Debug, Serialize, Deserialize)]
pub struct CertifyLearner {
    pub user_id: i64,
    pub run_id: i64,
}

impl CertifyLearner {
    pub async fn enqueue(
        db: &impl ConnectionTrait,
        user_id: i64,
        run_id: i64,
    ) -> Result<(), DbErr> {
        jobs::push(
            db,
            &CertifyLearner { user_id, run_id },
            Enqueue {
                unique_key: Some(format!("user:{user_id}:run:{run_id}")),
                run_at: None,
            },
        )
        .await
        .map(|_| ())
    }
}

impl Job for CertifyLearner {
    const KIND: &'static str = "courses.certify_learner";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = ctx.openedx.as_ref() else {
            return Err(JobError::Permanent("no Open edX is configured".into()));
        };
        let db = ctx.store.db();
        let Some(username) = store::openedx::account(db, self.user_id)
            .await
            .map_err(retry)?
            .and_then(|a| a.edx_username)
        else {
            return Err(JobError::Permanent(
                "the learner has no Open edX account".into(),
            ));
        };
        let view = store::catalog::read::load(db).await.map_err(retry)?;
        let Some((_, run)) = view.run(self.run_id) else {
            return Ok(());
        };
        let grades: Vec<(i64, Grade)> = edx
            .course_grades(&run.courseware_id, Some(&username))
            .await
            .map_err(edx_outcome)?
            .into_iter()
            .filter(|g| g.username == username)
            .map(|g| (self.user_id, from_edx(g)))
            .collect();
        let txn = ctx.store.write().await.map_err(retry)?;
        let applied = apply_grades_now(&txn, &view, self.run_id, &grades, Utc::now())
            .await
            .map_err(retry)?;
        txn.commit().await.map_err(retry)?;
        tracing::info!(
            user = self.user_id,
            run = self.run_id,
            ?applied,
            "learner's grade applied at edX's request"
        );
        Ok(())
    }
}

/// The nightly reconciliation (`generate-missing-program-certificates`, MITx Online 02:00):
/// every active program enrollment without a certificate is checked against the program's
/// rule, catching what a missed or failed trigger left. How many were issued.
pub async fn reconcile_programs(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let mut by_user: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (user, program) in store::enrollments::programs_without_certificates(db).await? {
        by_user.entry(user).or_default().push(program);
    }
    let mut issued = 0;
    for (user, programs) in by_user {
        issued += award(db, view, user, &programs, now).await?;
    }
    Ok(issued)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct GenerateProgramCertificates {}

impl Job for GenerateProgramCertificates {
    const KIND: &'static str = "courses.generate_program_certificates";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await.map_err(retry)?;
        let txn = ctx.store.write().await.map_err(retry)?;
        let issued = reconcile_programs(&txn, &view, Utc::now())
            .await
            .map_err(retry)?;
        txn.commit().await.map_err(retry)?;
        tracing::info!(issued, "program certificates reconciled");
        Ok(())
    }
}

/// MITx Online's nightly `upgrade_eligible_program_enrollments`: an audit program enrollment
/// (without a certificate) becomes verified once the learner holds an active verified
/// enrollment in every required course and in enough electives (the program's tree, read
/// with "verified in a run of the course" for each course). How many were upgraded.
pub async fn upgrade_program_enrollments(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let mut by_user: std::collections::BTreeMap<i64, Vec<i64>> = Default::default();
    for (user, program) in store::enrollments::programs_without_certificates(db).await? {
        let eligible_kind = view
            .program(program)
            .is_some_and(|p| p.site == Site::Mitxonline && p.live);
        if eligible_kind {
            by_user.entry(user).or_default().push(program);
        }
    }
    let mut upgraded = 0;
    // The learner's enrollments are read once for all their programs.
    for (user_id, programs) in by_user {
        let enrolled = store::enrollments::programs_of(db, user_id).await?;
        let verified_courses: Vec<i64> = store::enrollments::of_user(db, user_id)
            .await?
            .iter()
            .filter(|e| e.active && e.mode == "verified")
            .filter_map(|e| view.run(e.run_id).map(|(c, _)| c.id))
            .collect();
        for program_id in programs {
            let audit = enrolled
                .iter()
                .any(|(id, mode)| *id == program_id && mode == "audit");
            let Some(program) = view.program(program_id).filter(|_| audit) else {
                continue;
            };
            let eligible = tree_earned(
                &requirement_tree(&program.requirements, &|id| id, &|id| id),
                &|course| verified_courses.contains(&course),
                &|_| false,
            );
            if eligible {
                store::enrollments::activate_program(
                    db, user_id, program_id, "verified", None, now,
                )
                .await?;
                upgraded += 1;
            }
        }
    }
    Ok(upgraded)
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct UpgradeEligibleProgramEnrollments {}

impl Job for UpgradeEligibleProgramEnrollments {
    const KIND: &'static str = "courses.upgrade_eligible_program_enrollments";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await.map_err(retry)?;
        let txn = ctx.store.write().await.map_err(retry)?;
        let upgraded = upgrade_program_enrollments(&txn, &view, Utc::now())
            .await
            .map_err(retry)?;
        txn.commit().await.map_err(retry)?;
        tracing::info!(upgraded, "eligible program enrollments upgraded");
        Ok(())
    }
}
