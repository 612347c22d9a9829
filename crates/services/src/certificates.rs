//! Grades in, certificates out: a run's grades (pulled from Open edX or set by staff) are
//! stored without clobbering staff overrides, each grade is judged by its storefront's
//! certificate rule, and a new course certificate is followed by the programs it completes.

use std::collections::{BTreeMap, HashMap, HashSet};

use chrono::{DateTime, Utc};
use domain::catalog::Site;
use domain::certificates::{
    CertificateAction, Grade, RunDates, certificate_action, grade_action, merge_grade,
    run_due_for_sync, tree_earned, xpro_program_earned,
};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use store::catalog::read::{CatalogView, requirement_tree};
use store::certificates::{self as certs, Of};

use crate::Context;
use crate::emails;
use crate::mail::Mail;
use crate::openedx::edx_outcome;

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

/// Set-based: whatever the number of grades, a handful of statements read what is stored
/// and write what changed (the nightly sync of a large run stays quick).
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
    // One grade per learner (the last reported), as one upsert may touch a row only once.
    let grades: BTreeMap<i64, &Grade> = grades.iter().map(|(u, g)| (*u, g)).collect();
    let users: Vec<i64> = grades.keys().copied().collect();
    let stored = certs::grades_in_run(db, run_id, &users).await?;
    let paid = store::enrollments::paid_in_run(db, run_id, &users).await?;
    let (mut changed, mut issue, mut remove) = (Vec::new(), Vec::new(), Vec::new());
    for (user_id, pulled) in grades {
        let stored = stored.get(&user_id);
        let merged = merge_grade(stored, pulled);
        let effective = merged.as_ref().or(stored).unwrap_or(pulled);
        let paid_track = paid.contains(&user_id);
        let action = if force {
            grade_action(site, effective, paid_track)
        } else {
            certificate_action(site, &dates, effective, paid_track, now)
        };
        match action {
            CertificateAction::Issue => issue.push(user_id),
            CertificateAction::Remove => remove.push(user_id),
            CertificateAction::Nothing => {}
        }
        changed.extend(merged.map(|g| (user_id, g)));
    }
    applied.grades_changed = changed.len() as u32;
    certs::save_grades(db, run_id, &changed, now).await?;
    let issued = certs::issue_to(db, Of::Run(run_id), &issue, now).await?;
    applied.certificates_issued = issued.len() as u32;
    issued_to(db, Of::Run(run_id), &issued).await?;
    let removed = certs::remove_from(db, Of::Run(run_id), &remove).await?;
    applied.certificates_removed = removed.len() as u32;
    if !removed.is_empty() {
        crate::crm::ArchiveCertificates {
            program: false,
            ids: removed,
        }
        .enqueue(db)
        .await?;
    }
    if let Some((course, _)) = view.run(run_id)
        && !course.programs.is_empty()
    {
        let wanted = issued
            .into_iter()
            .map(|user| (user, course.programs.clone()))
            .collect();
        applied.program_certificates_issued = award(db, view, &wanted, now).await?;
    }
    Ok(applied)
}

/// What a learner has earned, read for every program a new certificate may complete.
#[derive(Default)]
struct Record {
    certified_courses: HashSet<i64>,
    /// Courses passed in a run without a paid track (MITx Online counts those by grade).
    passed_free_courses: HashSet<i64>,
    program_certificates: HashSet<i64>,
    /// Active program enrollments: program, mode.
    programs: Vec<(i64, String)>,
}

impl Record {
    /// The records of these learners, a few statements for any number of them.
    async fn of(
        db: &impl ConnectionTrait,
        view: &CatalogView,
        users: &[i64],
    ) -> Result<HashMap<i64, Self>, DbErr> {
        let mut records: HashMap<i64, Record> = HashMap::new();
        let course_of = |run: i64| view.run(run).map(|(c, _)| c.id);
        for (user, run) in certs::certified_runs_of(db, users).await? {
            let record = records.entry(user).or_default();
            record.certified_courses.extend(course_of(run));
        }
        for (user, run) in certs::passed_runs_of(db, users).await? {
            if view.run(run).is_some_and(|(_, r)| !r.has_mode("verified")) {
                let record = records.entry(user).or_default();
                record.passed_free_courses.extend(course_of(run));
            }
        }
        for (user, program) in certs::certified_programs_of(db, users).await? {
            records
                .entry(user)
                .or_default()
                .program_certificates
                .insert(program);
        }
        for (user, program, mode) in store::enrollments::programs_of_users(db, users).await? {
            records
                .entry(user)
                .or_default()
                .programs
                .push((program, mode));
        }
        Ok(records)
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

/// After course certificates: for each learner, a certificate of each of these live programs
/// they have earned and lack (MITx Online also requires a verified program enrollment; xPRO
/// enrolls the learner in the program). How many were issued.
pub async fn award(
    db: &impl ConnectionTrait,
    view: &CatalogView,
    wanted: &BTreeMap<i64, Vec<i64>>,
    now: DateTime<Utc>,
) -> Result<u32, DbErr> {
    let users: Vec<i64> = wanted.keys().copied().collect();
    // Two runs certified at once (concurrent syncs) must not each miss the other's
    // certificate: the learners' records are read one transaction after the other.
    store::accounts::lock(db, &users).await?;
    let records = Record::of(db, view, &users).await?;
    let none = Record::default();
    let mut earned: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (user_id, programs) in wanted {
        let record = records.get(user_id).unwrap_or(&none);
        for program_id in programs {
            let Some(program) = view.program(*program_id) else {
                continue;
            };
            if !program.live || record.program_certificates.contains(program_id) {
                continue;
            }
            let verified = record
                .programs
                .iter()
                .any(|(id, mode)| id == program_id && mode != "audit");
            if program.site == Site::Mitxonline && !verified {
                continue;
            }
            if !record.earned(view, *program_id, 0) {
                continue;
            }
            if program.site == Site::Xpro && !verified {
                store::enrollments::activate_program(db, *user_id, *program_id, "audit", None, now)
                    .await?;
            }
            earned.entry(*program_id).or_default().push(*user_id);
        }
    }
    let mut issued = 0;
    for (program_id, users) in earned {
        let of = Of::Program(program_id);
        let new = certs::issue_to(db, of, &users, now).await?;
        issued_to(db, of, &new).await?;
        issued += new.len() as u32;
    }
    Ok(issued)
}

/// Some learners' certificates of one run or program: what the jobs following
/// certificates carry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Learners {
    pub program: bool,
    pub id: i64,
    pub users: Vec<i64>,
}

impl Learners {
    pub fn new(of: Of, users: &[i64]) -> Self {
        let (program, id) = match of {
            Of::Run(id) => (false, id),
            Of::Program(id) => (true, id),
        };
        Learners {
            program,
            id,
            users: users.to_vec(),
        }
    }

    pub fn of(&self) -> Of {
        if self.program {
            Of::Program(self.id)
        } else {
            Of::Run(self.id)
        }
    }
}

/// Tells learners of their new certificates of one run or program: one job for a whole
/// sync, which queues a message per learner.
#[derive(Debug, Serialize, Deserialize)]
pub struct MailCertificates {
    #[serde(flatten)]
    pub learners: Learners,
}

/// What follows newly issued certificates: the learners are mailed, HubSpot told.
async fn issued_to(db: &impl ConnectionTrait, of: Of, users: &[i64]) -> Result<(), DbErr> {
    if users.is_empty() {
        return Ok(());
    }
    let learners = Learners::new(of, users);
    MailCertificates {
        learners: learners.clone(),
    }
    .enqueue(db)
    .await?;
    crate::crm::SyncCertificates { learners }
        .enqueue(db)
        .await
        .map(|_| ())
}

impl Job for MailCertificates {
    const KIND: &'static str = "certificates.mail";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let of = self.learners.of();
        let (title, path) = match of {
            Of::Program(id) => (
                view.program(id).map(|p| p.title.clone()),
                "/certificate/program/",
            ),
            Of::Run(id) => (view.run(id).map(|(c, _)| c.title.clone()), "/certificate/"),
        };
        let Some(title) = title else {
            return Ok(());
        };
        let txn = ctx.store.write().await?;
        let certificates = certs::of_learners(&txn, of, &self.learners.users).await?;
        for (certificate, holder) in certificates {
            if certificate.is_revoked {
                continue;
            }
            Mail::compose(
                &holder.email,
                &format!("Your certificate for {title}"),
                &emails::Certificate {
                    name: &holder.name,
                    title: &title,
                    link: emails::link(&ctx.site_url, &format!("{path}{}/", certificate.uuid)),
                },
            )
            .send(&txn)
            .await?;
        }
        Ok(txn.commit().await?)
    }
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

/// The scheduled sweep: queues a grade sync for every run of the storefront (both when
/// none is named) that its rule says is due. Each storefront has its own cadence: MITx
/// Online's `generate-course-certificates` hourly, xPRO's `generate-course-certificate`
/// daily.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct GenerateCourseCertificates {
    #[serde(default)]
    pub site: Option<Site>,
}

impl Job for GenerateCourseCertificates {
    const KIND: &'static str = "courses.generate_course_certificates";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        if ctx.openedx.is_none() {
            return Ok(());
        }
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let now = Utc::now();
        for course in &view.courses {
            for run in &course.runs {
                if run_dates(&view, run.id).is_some_and(|(site, dates)| {
                    self.site.is_none_or(|only| only == site) && run_due_for_sync(site, &dates, now)
                }) {
                    SyncRunGrades { run_id: run.id }.enqueue(db).await?;
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

impl Job for SyncRunGrades {
    const KIND: &'static str = "courses.sync_run_grades";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("run:{}", self.run_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = ctx.openedx.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let Some((_, run)) = view.run(self.run_id) else {
            return Ok(());
        };
        let pulled = edx
            .course_grades(&run.courseware_id, None)
            .await
            .map_err(edx_outcome)?;
        let usernames: Vec<String> = pulled.iter().map(|g| g.username.clone()).collect();
        let users = store::openedx::users_by_edx_username(db, &usernames).await?;
        // Grades of edX users we do not know are skipped, as both references skip them.
        let grades: Vec<(i64, Grade)> = pulled
            .into_iter()
            .filter_map(|g| Some((*users.get(&g.username)?, from_edx(g))))
            .collect();
        let txn = ctx.store.write().await?;
        let applied = apply_grades(&txn, &view, self.run_id, &grades, Utc::now()).await?;
        txn.commit().await?;
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

impl Job for CertifyLearner {
    const KIND: &'static str = "courses.certify_learner";
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(format!("user:{}:run:{}", self.user_id, self.run_id))
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(edx) = ctx.openedx.as_ref() else {
            // No LMS here: nothing to do (a dead job per enrollment would only be noise).
            // Once one is configured, the repair and retry schedules catch up.
            return Ok(());
        };
        let db = ctx.store.db();
        let Some(username) = store::openedx::account(db, self.user_id)
            .await?
            .and_then(|a| a.edx_username)
        else {
            return Err(JobError::Permanent(
                "the learner has no Open edX account".into(),
            ));
        };
        let view = store::catalog::read::load(db).await?;
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
        let txn = ctx.store.write().await?;
        let applied = apply_grades_now(&txn, &view, self.run_id, &grades, Utc::now()).await?;
        txn.commit().await?;
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
    let mut by_user: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for (user, program) in store::enrollments::programs_without_certificates(db).await? {
        by_user.entry(user).or_default().push(program);
    }
    award(db, view, &by_user, now).await
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct GenerateProgramCertificates {}

impl Job for GenerateProgramCertificates {
    const KIND: &'static str = "courses.generate_program_certificates";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let txn = ctx.store.write().await?;
        let issued = reconcile_programs(&txn, &view, Utc::now()).await?;
        txn.commit().await?;
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
    let mut by_user: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
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
        let view = store::catalog::read::load(db).await?;
        let txn = ctx.store.write().await?;
        let upgraded = upgrade_program_enrollments(&txn, &view, Utc::now()).await?;
        txn.commit().await?;
        tracing::info!(upgraded, "eligible program enrollments upgraded");
        Ok(())
    }
}

// Staff's and Open edX's actions on certificates, each in one transaction.

/// Revokes a learner's certificate with a reason (or, `None`, restores it) and has the
/// CRM told; `false` when the learner has no such certificate.
pub async fn set_revoked(
    store: &store::Store,
    user_id: i64,
    of: Of,
    reason: Option<&str>,
) -> Result<bool, DbErr> {
    let txn = store.write().await?;
    let changed = certs::set_revoked(&txn, user_id, of, reason).await?;
    let learners = Learners::new(of, &[user_id]);
    crate::crm::SyncCertificates { learners }
        .enqueue(&txn)
        .await?;
    txn.commit().await?;
    Ok(changed)
}

/// Pulls a run's grades now (staff's button): certificates earned are issued by the job.
pub async fn sync_grades_now(store: &store::Store, run_id: i64) -> Result<(), DbErr> {
    SyncRunGrades { run_id }
        .enqueue(store.db())
        .await
        .map(|_| ())
}

/// Open edX says a learner earned a certificate in a run: the valid certificate Registrar
/// already has, or none, and the learner's grade is queued to be pulled and applied
/// without waiting for the certificate date.
pub async fn edx_certificate_earned(
    store: &store::Store,
    user_id: i64,
    run_id: i64,
) -> Result<Option<certs::Certificate>, DbErr> {
    let existing = certs::find(store.db(), user_id, Of::Run(run_id))
        .await?
        .filter(|c| !c.is_revoked);
    if existing.is_none() {
        CertifyLearner { user_id, run_id }
            .enqueue(store.db())
            .await?;
    }
    Ok(existing)
}
