//! Open edX provisioning against the simulator over real HTTP, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks.

use jobs::Job as _;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use chrono::Utc;
use domain::accounts::{Email, LegalAddress, Username};
use integrations::openedx::{Config, EdxError, NewUser, OpenEdx};
use services::Context;
use services::enrollments::SyncEdxEnrollment;
use services::openedx::{CreateEdxUser, RepairEdxUsers};
use simulators::openedx as sim;
use store::Store;

async fn simulator() -> (Arc<sim::OpenEdx>, String) {
    let state = Arc::new(sim::OpenEdx::default());
    let url = simulators::serve(sim::router(state.clone())).await;
    (state, url)
}

fn client(url: &str) -> OpenEdx {
    OpenEdx::new(Config {
        base_url: url.to_string(),
        client_id: sim::CLIENT_ID.into(),
        client_secret: sim::CLIENT_SECRET.into(),
        social_login_path: integrations::openedx::SOCIAL_LOGIN_PATH.into(),
    })
}

async fn user(store: &Store, email: &str, username: &str, created: chrono::DateTime<Utc>) -> i64 {
    let address = LegalAddress {
        first_name: "Ada".into(),
        last_name: "Lovelace".into(),
        country: "GB".into(),
        state: None,
    };
    let new = store::accounts::NewUser {
        email: &Email::parse(email).unwrap(),
        username: &Username::parse(username).unwrap(),
        name: "Ada Lovelace",
        password_hash: None,
        address: &address,
        email_verified: true,
        global_id: None,
    };
    store::accounts::create_user(store.db(), new, created)
        .await
        .unwrap()
        .id
}

/// Runs the jobs with this client until they settle.
async fn drain(store: &Store, edx: OpenEdx) {
    services::testing::drain(Context {
        openedx: Some(Arc::new(edx)),
        // No Registrar is serving here: nothing these tests run needs a learner's token.
        ..services::testing::context(store)
    })
    .await;
}

#[tokio::test]
async fn an_outage_delays_the_edx_account_which_then_arrives_exactly_once() {
    let store = store::testing::fresh_store().await;
    let (sim, url) = simulator().await;
    sim.knobs.fail_next.store(3, Ordering::SeqCst);
    let id = user(&store, "ada@example.edu", "ada", Utc::now()).await;
    CreateEdxUser { user_id: id }
        .enqueue(store.db())
        .await
        .unwrap();
    CreateEdxUser { user_id: id }
        .enqueue(store.db())
        .await
        .unwrap();
    drain(&store, client(&url)).await;
    assert_eq!(
        sim.users().len(),
        1,
        "one edX account, despite two enqueues and three failures"
    );
    assert_eq!(sim.users()[0].email, "ada@example.edu");
    let account = store::openedx::account(store.db(), id)
        .await
        .unwrap()
        .unwrap();
    assert!(account.has_been_synced);
    assert_eq!(account.edx_username.as_deref(), Some("ada"));
    let calls = sim
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.contains("registration"))
        .count();
    assert!(calls >= 1);
}

#[tokio::test]
async fn a_taken_username_gets_a_suffix_and_a_rerun_is_idempotent() {
    let (sim, url) = simulator().await;
    let edx = client(&url);
    let other = NewUser {
        username: "ada",
        email: "other@example.edu",
        name: "Someone Else",
        country: "US",
    };
    assert_eq!(edx.create_user(&other).await, Ok("ada".to_string()));
    let ours = NewUser {
        username: "ada",
        email: "ada@example.edu",
        name: "Ada",
        country: "GB",
    };
    assert_eq!(edx.create_user(&ours).await, Ok("ada1".to_string()));
    assert_eq!(
        edx.create_user(&ours).await,
        Ok("ada1".to_string()),
        "a rerun finds the account it made"
    );
    assert_eq!(sim.users().len(), 2);
    let existing = NewUser {
        username: "lovelace",
        email: "ada@example.edu",
        name: "Ada",
        country: "GB",
    };
    assert_eq!(
        edx.create_user(&existing).await,
        Ok("ada1".to_string()),
        "an address with an edX account links to it"
    );
    sim.knobs.outage.store(true, Ordering::SeqCst);
    let new = NewUser {
        username: "hopper",
        email: "hopper@example.edu",
        name: "Grace Hopper",
        country: "US",
    };
    assert!(matches!(
        edx.create_user(&new).await,
        Err(EdxError::Transient(_))
    ));
}

#[tokio::test]
async fn repair_enqueues_users_missing_from_edx_after_the_grace_period() {
    let store = store::testing::fresh_store().await;
    let (sim, url) = simulator().await;
    let old = user(
        &store,
        "old@example.edu",
        "old",
        Utc::now() - chrono::Duration::hours(1),
    )
    .await;
    let fresh = user(&store, "fresh@example.edu", "fresh", Utc::now()).await;
    jobs::push(store.db(), &RepairEdxUsers {}, jobs::Enqueue::default())
        .await
        .unwrap();
    drain(&store, client(&url)).await;
    let emails: Vec<String> = sim.users().into_iter().map(|u| u.email).collect();
    assert_eq!(
        emails,
        vec!["old@example.edu"],
        "the fresh user is still within its grace period"
    );
    assert!(
        store::openedx::account(store.db(), old)
            .await
            .unwrap()
            .unwrap()
            .has_been_synced
    );
    assert!(
        store::openedx::account(store.db(), fresh)
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn an_enrollment_waits_for_the_edx_account_and_arrives_once_after_an_outage() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "mitxonline_courses.json").await;
    let (sim, url) = simulator().await;
    sim.knobs.fail_next.store(2, Ordering::SeqCst);
    let id = user(&store, "ada@example.edu", "ada", Utc::now()).await;
    // The enrollment's job is queued before the user's edX account exists.
    let enrollment = store::enrollments::activate(store.db(), id, 256, "audit", Utc::now())
        .await
        .unwrap();
    SyncEdxEnrollment {
        enrollment_id: enrollment.id,
    }
    .enqueue(store.db())
    .await
    .unwrap();
    CreateEdxUser { user_id: id }
        .enqueue(store.db())
        .await
        .unwrap();
    drain(&store, client(&url)).await;
    let enrollments = sim.enrollments();
    let jobs = jobs::admin::list(store.db(), None, None, 20).await.unwrap();
    assert_eq!(enrollments.len(), 1, "{jobs:#?}");
    assert_eq!(
        (
            enrollments[0].course_id.as_str(),
            enrollments[0].mode.as_str(),
            enrollments[0].is_active
        ),
        ("course-v1:MITxT+18.03.1x+2T2024", "audit", true)
    );
    assert!(
        store::enrollments::find(store.db(), enrollment.id)
            .await
            .unwrap()
            .unwrap()
            .edx_enrolled
    );

    let row = store::enrollments::find(store.db(), enrollment.id)
        .await
        .unwrap()
        .unwrap();
    let row = store::enrollments::deactivate(store.db(), row, "unenrolled", Utc::now())
        .await
        .unwrap();
    SyncEdxEnrollment {
        enrollment_id: row.id,
    }
    .enqueue(store.db())
    .await
    .unwrap();
    drain(&store, client(&url)).await;
    assert!(
        !sim.enrollments()[0].is_active,
        "unenrollment reaches edX too"
    );
    for subject in [
        "You have been enrolled in Introduction to Differential Equations",
        "You have been unenrolled in Introduction to Differential Equations",
    ] {
        assert_eq!(
            mails_titled(&store, subject).await,
            1,
            "{subject}: once, despite the outage's retries"
        );
    }
}

/// Messages queued with this subject.
async fn mails_titled(store: &Store, subject: &str) -> i64 {
    store::testing::count(
        store,
        &format!(
            "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%\"subject\":\"{subject}\"%'"
        ),
    )
    .await
}

#[tokio::test]
async fn an_expired_paid_mode_falls_back_to_audit_once() {
    let (sim, url) = simulator().await;
    let edx = client(&url);
    let new = NewUser {
        username: "ada",
        email: "ada@example.edu",
        name: "Ada",
        country: "GB",
    };
    edx.create_user(&new).await.unwrap();
    sim.expired_modes
        .lock()
        .unwrap()
        .push("no-id-professional".to_string());
    let course = "course-v1:MITx+P1+R1";
    let mode = edx
        .set_enrollment("ada", course, "no-id-professional", true)
        .await
        .unwrap();
    assert_eq!(mode, "audit");
    assert_eq!(sim.enrollments()[0].mode, "audit");
    let enrolls = |calls: &[String]| {
        calls
            .iter()
            .filter(|c| *c == "POST /api/enrollment/v1/enrollment")
            .count()
    };
    assert_eq!(
        enrolls(&sim.calls.lock().unwrap()),
        2,
        "one refusal, one audit enrollment"
    );
    assert!(
        matches!(
            edx.set_enrollment("nobody", course, "no-id-professional", true)
                .await,
            Err(EdxError::Permanent(_))
        ),
        "other refusals do not fall back"
    );
}

#[tokio::test]
async fn grades_pulled_page_by_page_from_edx_certify_the_learners_who_passed() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "xpro_courses.json").await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let run = &view.courses[0].runs[0];
    let (sim, url) = simulator().await;
    let mut learners = Vec::new();
    for i in 0..12 {
        let name = format!("learner{i:02}");
        let id = user(&store, &format!("{name}@example.edu"), &name, Utc::now()).await;
        CreateEdxUser { user_id: id }
            .enqueue(store.db())
            .await
            .unwrap();
        learners.push((id, name));
    }
    drain(&store, client(&url)).await;
    // Eight pass, three fail, one scores nothing; edX also grades someone we do not know.
    for (i, (_, name)) in learners.iter().enumerate() {
        let (percent, passed) = match i {
            0..8 => (0.8, true),
            8..11 => (0.4, false),
            _ => (0.0, false),
        };
        sim.set_grade(sim::SimGrade {
            username: name.clone(),
            course_id: run.courseware_id.clone(),
            percent,
            passed,
            letter_grade: passed.then(|| "Pass".to_string()),
        });
    }
    sim.set_grade(sim::SimGrade {
        username: "stranger".into(),
        course_id: run.courseware_id.clone(),
        percent: 1.0,
        passed: true,
        letter_grade: None,
    });
    services::certificates::SyncRunGrades { run_id: run.id }
        .enqueue(store.db())
        .await
        .unwrap();
    drain(&store, client(&url)).await;
    let grade_calls = sim
        .calls
        .lock()
        .unwrap()
        .iter()
        .filter(|c| c.starts_with("GET /api/grades"))
        .count();
    assert_eq!(grade_calls, 2, "13 grades come in two pages");
    let mut certified = 0;
    for (id, _) in &learners {
        assert!(
            store::certificates::grade(store.db(), *id, run.id)
                .await
                .unwrap()
                .is_some(),
            "every known learner's grade is stored"
        );
        if store::certificates::find(store.db(), *id, store::certificates::Of::Run(run.id))
            .await
            .unwrap()
            .is_some()
        {
            certified += 1;
        }
    }
    assert_eq!(certified, 8, "xPRO certifies on edX's passed flag");
}

#[tokio::test]
async fn edx_asking_for_a_certificate_pulls_that_learners_grade_and_certifies() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "mitxonline_courses.json").await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let run = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .find(|r| r.has_mode("verified"))
        .expect("a run with a verified track");
    let (sim, url) = simulator().await;
    let id = user(&store, "ada@example.edu", "ada", Utc::now()).await;
    CreateEdxUser { user_id: id }
        .enqueue(store.db())
        .await
        .unwrap();
    drain(&store, client(&url)).await;
    store::enrollments::activate(store.db(), id, run.id, "verified", Utc::now())
        .await
        .unwrap();
    for (username, passed) in [("ada", true), ("someone", true)] {
        sim.set_grade(sim::SimGrade {
            username: username.into(),
            course_id: run.courseware_id.clone(),
            percent: 0.9,
            passed,
            letter_grade: None,
        });
    }
    services::certificates::CertifyLearner {
        user_id: id,
        run_id: run.id,
    }
    .enqueue(store.db())
    .await
    .unwrap();
    drain(&store, client(&url)).await;
    assert!(
        store::certificates::find(store.db(), id, store::certificates::Of::Run(run.id))
            .await
            .unwrap()
            .is_some(),
        "certified at edX's request"
    );
    assert!(
        sim.calls
            .lock()
            .unwrap()
            .iter()
            .any(|c| c.starts_with("GET /api/grades")),
        "the grade came from edX"
    );
}

/// Staff's "sync now" of one run, run to the end.
async fn sync_run_now(store: &Store, url: &str, run_id: i64) {
    jobs::push(
        store.db(),
        &services::catalog_sync::SyncCourseRuns {
            run_id: Some(run_id),
        },
        jobs::Enqueue::default(),
    )
    .await
    .unwrap();
    drain(store, client(url)).await;
}

#[tokio::test]
async fn a_run_takes_edx_title_dates_and_pacing_and_an_unknown_run_is_left_alone() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "xpro_courses.json").await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let (course, run) = (&view.courses[0], &view.courses[0].runs[0]);
    let (sim, url) = simulator().await;
    let end = Utc::now() + chrono::Duration::days(90);
    sim.set_course(sim::SimCourse {
        id: run.courseware_id.clone(),
        name: "Renamed in edX".into(),
        start: run.window.start,
        end: Some(end),
        enrollment_start: run.window.enrollment_start,
        enrollment_end: run.window.enrollment_end,
        pacing: "self".into(),
        certificate_available_date: None,
    });
    sync_run_now(&store, &url, run.id).await;
    let after = store::catalog::read::load(store.db()).await.unwrap();
    let (_, synced) = after.run(run.id).unwrap();
    assert_eq!(synced.title, "Renamed in edX");
    assert_eq!(
        synced.window.end.map(|e| e.timestamp()),
        Some(end.timestamp())
    );
    assert!(synced.is_self_paced);
    assert_eq!(
        synced.certificate_available_date.map(|d| d.timestamp()),
        Some(end.timestamp()),
        "no certificate date from edX: the end date"
    );
    let untouched = after.course(course.id).unwrap();
    for (before, now) in course.runs.iter().zip(&untouched.runs).skip(1) {
        assert_eq!(
            before.title, now.title,
            "runs edX was not asked about stay as they were"
        );
    }
}

#[tokio::test]
async fn mitx_online_runs_keep_their_modes_and_upgrade_deadline_in_step_with_edx() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "mitxonline_courses.json").await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let run = &view.courses[0].runs[0];
    let (sim, url) = simulator().await;
    sim.set_course(sim::SimCourse::of(
        &run.courseware_id,
        &run.title,
        &run.window,
        run.is_self_paced,
        run.certificate_available_date,
    ));
    let audit = integrations::openedx::EdxCourseMode {
        mode_slug: "audit".into(),
        mode_display_name: "Audit".into(),
        min_price: 0,
        currency: "usd".into(),
        expiration_datetime: None,
        description: None,
    };
    sim.set_course_modes(&run.courseware_id, vec![audit.clone()]);
    let sync_now = || async {
        sync_run_now(&store, &url, run.id).await;
        let view = store::catalog::read::load(store.db()).await.unwrap();
        view.run(run.id).unwrap().1.clone()
    };

    let synced = sync_now().await;
    let in_edx = sim.course_modes(&run.courseware_id);
    let verified = in_edx.iter().find(|m| m.mode_slug == "verified");
    assert_eq!(
        verified.map(|m| (m.min_price, m.expiration_datetime)),
        Some((10, run.window.upgrade_deadline)),
        "staff's sync creates the verified mode edX lacked, closing at the run's deadline"
    );
    assert!(synced.has_mode("audit") && synced.has_mode("verified"));

    let deadline = Utc::now() + chrono::Duration::days(30);
    sim.set_course_modes(
        &run.courseware_id,
        vec![
            audit,
            integrations::openedx::EdxCourseMode {
                expiration_datetime: Some(deadline),
                ..verified.unwrap().clone()
            },
        ],
    );
    let synced = sync_now().await;
    assert_eq!(
        synced.window.upgrade_deadline.map(|d| d.timestamp()),
        Some(deadline.timestamp()),
        "the upgrade deadline is the verified mode's expiration in edX"
    );
}

#[tokio::test]
async fn grades_edx_reports_for_every_course_of_an_xpro_program_bring_its_certificate() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "xpro_courses.json").await;
    store::testing::import_original(&store, "xpro_programs.json").await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let program = view
        .programs
        .iter()
        .find(|p| p.live && !p.course_leaves().is_empty())
        .expect("a live xPRO program with courses");
    let runs: Vec<(i64, String)> = program
        .course_leaves()
        .iter()
        .filter_map(|(course, _)| view.course(*course)?.runs.first())
        .map(|r| (r.id, r.courseware_id.clone()))
        .collect();
    assert_eq!(
        runs.len(),
        program.course_leaves().len(),
        "each course has a run"
    );
    let (sim, url) = simulator().await;
    let ada = user(&store, "ada@example.edu", "ada", Utc::now()).await;
    CreateEdxUser { user_id: ada }
        .enqueue(store.db())
        .await
        .unwrap();
    drain(&store, client(&url)).await;

    // edX reports a pass in each course; the scheduled sweep queues every run it holds due.
    for (run, courseware_id) in &runs {
        sim.set_grade(sim::SimGrade {
            username: "ada".into(),
            course_id: courseware_id.clone(),
            percent: 0.9,
            passed: true,
            letter_grade: None,
        });
        services::certificates::SyncRunGrades { run_id: *run }
            .enqueue(store.db())
            .await
            .unwrap();
    }
    drain(&store, client(&url)).await;
    for (run, _) in &runs {
        assert!(
            store::certificates::find(store.db(), ada, store::certificates::Of::Run(*run))
                .await
                .unwrap()
                .is_some(),
            "a course certificate for each run"
        );
    }
    let of_program = store::certificates::find(
        store.db(),
        ada,
        store::certificates::Of::Program(program.id),
    )
    .await
    .unwrap()
    .expect("the program certificate follows the last course certificate");
    assert!(!of_program.is_revoked);
    let program_mail = format!("Your certificate for {}", program.title);
    assert_eq!(
        mails_titled(&store, &program_mail).await,
        1,
        "the learner hears of it"
    );
    assert!(
        store::enrollments::programs_of(store.db(), ada)
            .await
            .unwrap()
            .iter()
            .any(|(id, _)| *id == program.id),
        "xPRO enrolls the learner in the program it certified"
    );
}
