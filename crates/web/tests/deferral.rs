//! Staff move a learner's enrollment to another run from the user page (the native side of
//! deferral requests): the rules hold unless staff force it, and errors say why.

mod common;

use axum::http::StatusCode;
use common::App;

#[tokio::test]
async fn staff_defer_an_enrollment_within_the_rules_or_by_force() {
    let app = App::with(common::settings("http://registrar.test")).await;
    common::import(&app.store, &["mitxonline_courses.json"]).await;
    let learner = common::account(&app.store, "ada", false).await;
    let now = chrono::Utc::now();
    store::enrollments::activate(app.store.db(), learner.id, 174, "verified", now)
        .await
        .unwrap();
    let staff = app.staff_cookie().await;
    let page = app
        .get(&format!("/staff/users/{}", learner.id), Some(&staff))
        .await;
    assert!(page.body.contains("Move the enrollment"), "{}", page.body);
    let path = format!("/staff/users/{}/defer", learner.id);
    let (from, to) = (
        "course-v1:MITxT+18.03.1x+2T2023",
        "course-v1:MITxT+18.03.1x+2T2024",
    );

    let same = app
        .post(&path, Some(&staff), &[("from", from), ("to", from)])
        .await;
    assert_eq!(same.status, StatusCode::BAD_REQUEST);
    assert!(same.body.contains("identical"), "{}", same.body);
    // 2T2024 closed its enrollment in the fixture's past: refused unless forced.
    let closed = app
        .post(&path, Some(&staff), &[("from", from), ("to", to)])
        .await;
    assert_eq!(closed.status, StatusCode::BAD_REQUEST);
    assert!(
        closed.body.contains("not open for enrollment"),
        "{}",
        closed.body
    );
    let forced = app
        .post(
            &path,
            Some(&staff),
            &[("from", from), ("to", to), ("force", "on")],
        )
        .await;
    assert_eq!(forced.status, StatusCode::SEE_OTHER);
    let moved = store::enrollments::for_run(app.store.db(), learner.id, 256)
        .await
        .unwrap()
        .unwrap();
    assert!(moved.active && moved.mode == "verified");
    let old = store::enrollments::for_run(app.store.db(), learner.id, 174)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(old.change_status.as_deref(), Some("deferred"));
    let told = store::testing::count(
        &app.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%has moved%'",
    )
    .await;
    assert_eq!(told, 1, "the learner is told where the enrollment went");
}
