//! Grades becoming certificates through the services, on the demo's synthetic catalog and
//! the backend `REGISTRAR_TEST_DATABASE_URL` picks: both references' course rules, staff
//! overrides that a sync never clobbers, zero grades, revocation, and program certificates.

use chrono::{DateTime, Duration, Utc};
use domain::catalog::{Catalog, Site};
use domain::certificates::Grade;
use services::certificates::{Applied, apply_grades};
use store::Store;
use store::catalog::read::CatalogView;
use store::catalog::write::{Mode, apply};
use store::certificates::{self as certs, Of};

mod common;

struct World {
    store: Store,
    view: CatalogView,
    now: DateTime<Utc>,
}

async fn world(edit: impl FnOnce(&mut Catalog, DateTime<Utc>)) -> World {
    let store = store::testing::fresh_store().await;
    let now = Utc::now();
    let mut catalog = registrar::seed::synthetic_catalog(now, 24, 4);
    edit(&mut catalog, now);
    let txn = store.write().await.unwrap();
    apply(&txn, &catalog, Mode::Strict).await.unwrap();
    txn.commit().await.unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    World { store, view, now }
}

impl World {
    async fn learner(&self, name: &str) -> i64 {
        common::learner(&self.store, name, self.now).await.id
    }

    async fn enroll(&self, user: i64, run: i64, mode: &str) {
        store::enrollments::activate(self.store.db(), user, run, mode, self.now)
            .await
            .unwrap();
    }

    async fn grade(&self, run: i64, grades: &[(i64, f64, bool)]) -> Applied {
        let grades: Vec<(i64, Grade)> = grades
            .iter()
            .map(|(user, grade, passed)| {
                (
                    *user,
                    Grade {
                        grade: *grade,
                        letter: None,
                        passed: *passed,
                        set_by_admin: false,
                    },
                )
            })
            .collect();
        let txn = self.store.write().await.unwrap();
        let applied = apply_grades(&txn, &self.view, run, &grades, self.now)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        applied
    }

    async fn reconcile(&self) -> u32 {
        let txn = self.store.write().await.unwrap();
        let issued = services::certificates::reconcile_programs(&txn, &self.view, self.now)
            .await
            .unwrap();
        txn.commit().await.unwrap();
        issued
    }

    async fn certified(&self, user: i64, of: Of) -> bool {
        certs::find(self.store.db(), user, of)
            .await
            .unwrap()
            .is_some_and(|c| !c.is_revoked)
    }
}

/// The first MITx Online course with a verified track: its first run made instructor-paced
/// with a certificate date `days` from now.
fn mitx_run(catalog: &mut Catalog, now: DateTime<Utc>, days: i64) -> String {
    let run = catalog
        .courses
        .iter_mut()
        .filter(|c| c.site == Site::Mitxonline)
        .flat_map(|c| c.runs.iter_mut())
        .find(|r| r.enrollment_modes.iter().any(|m| m == "verified"))
        .expect("a MITx Online run with a verified track");
    run.is_self_paced = false;
    run.certificate_available_date = Some(now + Duration::days(days));
    run.courseware_id.clone()
}

fn run_id(view: &CatalogView, courseware_id: &str) -> i64 {
    view.courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .find(|r| r.courseware_id == courseware_id)
        .unwrap()
        .id
}

#[tokio::test]
async fn mitx_online_certifies_verified_passing_learners_after_the_certificate_date() {
    let mut key = String::new();
    let world = world(|catalog, now| key = mitx_run(catalog, now, -1)).await;
    let run = run_id(&world.view, &key);
    let (ada, bob, cy) = (
        world.learner("ada").await,
        world.learner("bob").await,
        world.learner("cyd").await,
    );
    world.enroll(ada, run, "verified").await;
    world.enroll(bob, run, "audit").await;
    world.enroll(cy, run, "verified").await;
    let applied = world
        .grade(
            run,
            &[(ada, 0.9, true), (bob, 0.95, true), (cy, 0.3, false)],
        )
        .await;
    assert_eq!(applied.grades_changed, 3);
    assert_eq!(applied.certificates_issued, 1);
    assert!(world.certified(ada, Of::Run(run)).await);
    assert!(
        !world.certified(bob, Of::Run(run)).await,
        "audit learners are never certified"
    );
    assert!(!world.certified(cy, Of::Run(run)).await);

    // The same grades again change nothing.
    let again = world.grade(run, &[(ada, 0.9, true)]).await;
    assert_eq!(again, Applied::default());

    // A staff override stands against the next sync, and its certificate with it.
    let db = world.store.db();
    certs::save_grade(
        db,
        ada,
        run,
        &Grade {
            grade: 0.95,
            letter: Some("A".into()),
            passed: true,
            set_by_admin: true,
        },
        world.now,
    )
    .await
    .unwrap();
    world.grade(run, &[(ada, 0.1, false)]).await;
    let kept = certs::grade(db, ada, run).await.unwrap().unwrap();
    assert!(
        kept.set_by_admin && kept.grade == 0.95,
        "never clobbered by a sync"
    );
    assert!(world.certified(ada, Of::Run(run)).await);

    // A zero grade removes a certificate; revocation hides one, restoring brings it back.
    world.grade(run, &[(cy, 0.8, true)]).await;
    assert!(world.certified(cy, Of::Run(run)).await);
    assert!(
        certs::set_revoked(db, cy, Of::Run(run), Some("academic integrity"))
            .await
            .unwrap()
    );
    assert!(!world.certified(cy, Of::Run(run)).await);
    let revoked = certs::find(db, cy, Of::Run(run)).await.unwrap().unwrap();
    assert_eq!(revoked.revoke_reason.as_deref(), Some("academic integrity"));
    assert!(
        certs::set_revoked(db, cy, Of::Run(run), None)
            .await
            .unwrap()
    );
    assert!(world.certified(cy, Of::Run(run)).await);
    let removed = world.grade(run, &[(cy, 0.0, false)]).await;
    assert_eq!(removed.certificates_removed, 1);
    assert!(certs::find(db, cy, Of::Run(run)).await.unwrap().is_none());
}

#[tokio::test]
async fn mitx_online_waits_for_the_certificate_date_of_an_instructor_paced_run() {
    let mut key = String::new();
    let world = world(|catalog, now| key = mitx_run(catalog, now, 3)).await;
    let run = run_id(&world.view, &key);
    let ada = world.learner("ada").await;
    world.enroll(ada, run, "verified").await;
    let applied = world.grade(run, &[(ada, 0.9, true)]).await;
    assert_eq!(applied.grades_changed, 1, "the grade is kept");
    assert_eq!(
        applied.certificates_issued, 0,
        "the certificate waits for its date"
    );
}

#[tokio::test]
async fn an_xpro_program_is_certified_when_each_of_its_courses_is() {
    let world = world(|_, _| {}).await;
    let program = world
        .view
        .programs
        .iter()
        .find(|p| {
            let leaves = p.course_leaves();
            p.site == Site::Xpro
                && p.live
                && leaves.len() >= 2
                && leaves
                    .iter()
                    .any(|(c, _)| world.view.course(*c).is_some_and(|c| c.runs.len() >= 2))
        })
        .expect("an xPRO program of several courses, one with two runs");
    let ada = world.learner("ada").await;
    let mut courses: Vec<i64> = program.course_leaves().iter().map(|(c, _)| *c).collect();
    // The course with a second run goes first, so that run is graded before the last course.
    courses.sort_by_key(|c| world.view.course(*c).unwrap().runs.len() < 2);
    let runs: Vec<i64> = courses
        .iter()
        .map(|c| world.view.course(*c).unwrap().runs[0].id)
        .collect();
    let (last, first) = runs.split_last().unwrap();
    for run in first {
        let applied = world.grade(*run, &[(ada, 0.8, true)]).await;
        assert_eq!(
            applied.certificates_issued, 1,
            "xPRO certifies on edX's passed flag"
        );
        assert_eq!(applied.program_certificates_issued, 0);
    }
    // A second certificate in a course already certified does not complete the program.
    let other_run = world.view.course(courses[0]).unwrap().runs.get(1);
    let other_run = other_run.expect("the first course has a second run");
    let applied = world.grade(other_run.id, &[(ada, 0.8, true)]).await;
    assert_eq!(applied.certificates_issued, 1);
    assert_eq!(applied.program_certificates_issued, 0);
    let applied = world.grade(*last, &[(ada, 0.8, true)]).await;
    assert_eq!(applied.program_certificates_issued, 1);
    assert!(world.certified(ada, Of::Program(program.id)).await);
    let enrolled = store::enrollments::programs_of(world.store.db(), ada)
        .await
        .unwrap();
    assert!(
        enrolled.iter().any(|(p, _)| *p == program.id),
        "enrolled in the program"
    );
}

#[tokio::test]
async fn the_nightly_reconciliation_certifies_a_verified_mitx_online_program_its_tree_allows() {
    let world = world(|_, _| {}).await;
    let program = world
        .view
        .programs
        .iter()
        .find(|p| p.site == Site::Mitxonline && p.live && !p.course_leaves().is_empty())
        .expect("a MITx Online program with courses");
    let (ada, bob) = (world.learner("ada").await, world.learner("bob").await);
    let db = world.store.db();
    for user in [ada, bob] {
        for (course, _) in program.course_leaves() {
            let run = world.view.course(course).unwrap().runs[0].id;
            certs::issue(db, user, Of::Run(run), world.now)
                .await
                .unwrap();
        }
    }
    store::enrollments::activate_program(db, ada, program.id, "verified", None, world.now)
        .await
        .unwrap();
    store::enrollments::activate_program(db, bob, program.id, "audit", None, world.now)
        .await
        .unwrap();
    let issued = world.reconcile().await;
    assert_eq!(issued, 1);
    assert!(world.certified(ada, Of::Program(program.id)).await);
    assert!(
        !world.certified(bob, Of::Program(program.id)).await,
        "MITx Online certifies programs on the verified track only"
    );

    // Revoked course certificates do not complete the program for the next learner.
    let cyd = world.learner("cyd").await;
    store::enrollments::activate_program(db, cyd, program.id, "verified", None, world.now)
        .await
        .unwrap();
    for (course, _) in program.course_leaves() {
        let run = world.view.course(course).unwrap().runs[0].id;
        certs::issue(db, cyd, Of::Run(run), world.now)
            .await
            .unwrap();
        certs::set_revoked(db, cyd, Of::Run(run), Some("test"))
            .await
            .unwrap();
    }
    let issued = world.reconcile().await;
    assert_eq!(issued, 0, "revoked certificates do not count");
    assert!(!world.certified(cyd, Of::Program(program.id)).await);
}

#[tokio::test]
async fn an_audit_program_enrollment_is_upgraded_once_every_course_is_verified() {
    let world = world(|_, _| {}).await;
    let program = world
        .view
        .programs
        .iter()
        .find(|p| p.site == Site::Mitxonline && p.live && p.course_leaves().len() >= 2)
        .expect("a MITx Online program of several courses");
    let (ada, bob) = (world.learner("ada").await, world.learner("bob").await);
    let db = world.store.db();
    let courses = program.course_leaves();
    for user in [ada, bob] {
        store::enrollments::activate_program(db, user, program.id, "audit", None, world.now)
            .await
            .unwrap();
    }
    for (course, _) in &courses {
        let run = world.view.course(*course).unwrap().runs[0].id;
        world.enroll(ada, run, "verified").await;
    }
    // Bob is verified in the first course only, audit in the rest.
    for (index, (course, _)) in courses.iter().enumerate() {
        let run = world.view.course(*course).unwrap().runs[0].id;
        world
            .enroll(bob, run, if index == 0 { "verified" } else { "audit" })
            .await;
    }
    let txn = world.store.write().await.unwrap();
    let upgraded =
        services::certificates::upgrade_program_enrollments(&txn, &world.view, world.now)
            .await
            .unwrap();
    txn.commit().await.unwrap();
    let mode = |user: i64| async move {
        store::enrollments::programs_of(db, user)
            .await
            .unwrap()
            .into_iter()
            .find(|(p, _)| *p == program.id)
            .unwrap()
            .1
    };
    assert_eq!(mode(ada).await, "verified");
    assert_eq!(
        mode(bob).await,
        "audit",
        "not every required course is verified"
    );
    assert_eq!(upgraded, 1);
}
