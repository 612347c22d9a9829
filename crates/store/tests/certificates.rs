//! Grades and certificates written and read in bulk, across the statement chunks the store
//! splits large sets into (on the backend `REGISTRAR_TEST_DATABASE_URL` picks).

use chrono::Utc;
use domain::catalog::import::parse;
use domain::certificates::Grade;
use store::catalog::write::{Mode, apply};
use store::certificates::{self as certs, Of};
use store::testing::fresh_store;

/// More learners than one statement carries, so every bulk path takes several chunks.
const LEARNERS: usize = 2_500;

#[tokio::test]
async fn bulk_grades_and_certificates_cross_statement_chunks_without_loss() {
    let store = fresh_store().await;
    let now = Utc::now();
    let txn = store.write().await.unwrap();
    let path = format!(
        "{}/../../fixtures/originals/xpro_courses.json",
        env!("CARGO_MANIFEST_DIR")
    );
    apply(
        &txn,
        &parse(&std::fs::read_to_string(path).unwrap()).unwrap().1,
        Mode::Import,
    )
    .await
    .unwrap();
    let mut users = Vec::new();
    for i in 0..LEARNERS {
        let user = store::testing::learner(&txn, &format!("learner{i}"), now)
            .await
            .unwrap();
        users.push(user.id);
    }
    let view = store::catalog::read::load(&txn).await.unwrap();
    let run = view.courses[0].runs[0].id;
    let grade = |i: usize| Grade {
        grade: i as f64 / LEARNERS as f64,
        letter: None,
        passed: i.is_multiple_of(2),
        set_by_admin: i.is_multiple_of(7),
    };
    let grades: Vec<(i64, Grade)> = users
        .iter()
        .enumerate()
        .map(|(i, u)| (*u, grade(i)))
        .collect();
    certs::save_grades(&txn, run, &grades, now).await.unwrap();
    let stored = certs::grades_in_run(&txn, run, &users).await.unwrap();
    assert_eq!(stored.len(), LEARNERS);
    assert_eq!(stored[&users[1_234]], grade(1_234));

    let issued = certs::issue_to(&txn, Of::Run(run), &users, now)
        .await
        .unwrap();
    assert_eq!(issued.len(), LEARNERS);
    assert!(
        certs::issue_to(&txn, Of::Run(run), &users, now)
            .await
            .unwrap()
            .is_empty(),
        "a second issue finds every certificate there"
    );
    let removed = certs::remove_from(&txn, Of::Run(run), &users[..1_200])
        .await
        .unwrap();
    assert_eq!(removed.len(), 1_200);
    let left = certs::certified_runs_of(&txn, &users).await.unwrap();
    assert_eq!(left.len(), LEARNERS - 1_200);
    assert!(
        left.iter()
            .all(|(user, r)| *r == run && !users[..1_200].contains(user))
    );
    let passed = certs::passed_runs_of(&txn, &users).await.unwrap();
    assert_eq!(passed.len(), LEARNERS.div_ceil(2));
    txn.commit().await.unwrap();
}
