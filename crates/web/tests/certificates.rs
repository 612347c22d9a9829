//! Public certificate pages through the full router: course and program certificates, the
//! SVG rendering, revocation shown with its reason, unknown ids.

mod common;

use axum::http::StatusCode;
use chrono::{TimeZone, Utc};
use common::App;
use store::certificates::{self as certs, Of};

#[tokio::test]
async fn a_certificate_is_verifiable_by_its_id_and_says_when_it_was_revoked() {
    let store = store::testing::fresh_store().await;
    common::import(&store, &["xpro_courses.json", "xpro_programs.json"]).await;
    let now = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let course = &view.courses[0];
    let run = course.runs[0].id;
    let program = view.programs[0].id;
    let user = common::account(&store, "grace", false).await;
    let db = store.db();
    certs::issue(db, user.id, Of::Run(run), now).await.unwrap();
    certs::issue(db, user.id, Of::Program(program), now)
        .await
        .unwrap();
    let of_run = certs::find(db, user.id, Of::Run(run))
        .await
        .unwrap()
        .unwrap();
    let of_program = certs::find(db, user.id, Of::Program(program))
        .await
        .unwrap()
        .unwrap();
    let app = App::at(&store, "https://registrar.example.edu", now);

    let page = app
        .get(&format!("/certificate/{}/", of_run.uuid), None)
        .await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(&user.name), "{}", page.body);
    assert!(page.body.contains(&course.title));
    assert!(page.body.contains(&of_run.uuid));
    assert!(!page.body.contains("revoked"));

    let svg = app
        .get(&format!("/certificate/{}.svg", of_run.uuid), None)
        .await;
    assert_eq!(svg.status, StatusCode::OK);
    assert!(svg.body.starts_with("<svg"), "{}", svg.body);
    assert!(svg.body.contains(&user.name));

    let pdf = app
        .get(&format!("/certificate/{}.pdf", of_run.uuid), None)
        .await;
    assert_eq!(pdf.status, StatusCode::OK);
    assert!(pdf.body.starts_with("%PDF-1.4"));
    assert!(
        pdf.body.contains(&user.name),
        "the learner's name is on the PDF"
    );

    let program_page = app
        .get(&format!("/certificate/program/{}/", of_program.uuid), None)
        .await;
    assert_eq!(program_page.status, StatusCode::OK);
    assert!(program_page.body.contains(&view.programs[0].title));
    assert_eq!(
        app.get(&format!("/certificate/program/{}/", of_run.uuid), None)
            .await
            .status,
        StatusCode::NOT_FOUND,
        "a course certificate's id is not a program's"
    );

    // Staff revoke it from the learner's page, with a reason (none is refused).
    let staff = app.staff_cookie().await;
    let revoke = format!(
        "/staff/users/{}/certificates/{}/revoke",
        user.id, of_run.uuid
    );
    let refused = app.post(&revoke, Some(&staff), &[("reason", " ")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    let done = app
        .post(&revoke, Some(&staff), &[("reason", "issued in error")])
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let listed = app
        .get(&format!("/staff/users/{}", user.id), Some(&staff))
        .await;
    assert!(listed.body.contains("issued in error"), "{}", listed.body);
    let revoked = app
        .get(&format!("/certificate/{}/", of_run.uuid), None)
        .await;
    assert_eq!(revoked.status, StatusCode::OK);
    assert!(revoked.body.contains("has been revoked (issued in error)"));
    let restore = format!(
        "/staff/users/{}/certificates/{}/restore",
        user.id, of_run.uuid
    );
    app.post(&restore, Some(&staff), &[]).await;
    let restored = app
        .get(&format!("/certificate/{}/", of_run.uuid), None)
        .await;
    assert!(!restored.body.contains("revoked"), "restored");
    assert_eq!(
        app.get("/certificate/00000000-0000-0000-0000-000000000000/", None)
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn certificates_carry_the_signatories_staff_set_on_the_course() {
    let store = store::testing::fresh_store().await;
    common::import(&store, &["xpro_courses.json"]).await;
    let now = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let course = &view.courses[0];
    let mut record = view.course_record(course);
    record.page.get_or_insert_default().signatories =
        domain::catalog::Signatory::parse_lines("Ada Lovelace | Professor | MIT\nCharles Babbage")
            .unwrap();
    let txn = store.write().await.unwrap();
    store::catalog::write::apply(
        &txn,
        &domain::catalog::Catalog {
            courses: vec![record],
            ..Default::default()
        },
        store::catalog::write::Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let user = common::account(&store, "grace", false).await;
    let run = course.runs[0].id;
    certs::issue(store.db(), user.id, Of::Run(run), now)
        .await
        .unwrap();
    let uuid = certs::find(store.db(), user.id, Of::Run(run))
        .await
        .unwrap()
        .unwrap()
        .uuid;
    let app = App::at(&store, "https://registrar.example.edu", now);

    let page = app.get(&format!("/certificate/{uuid}/"), None).await;
    assert!(
        page.body.contains("<strong>Ada Lovelace</strong>"),
        "{}",
        page.body
    );
    assert!(page.body.contains("Professor, MIT"));
    assert!(page.body.contains("<strong>Charles Babbage</strong>"));
    let svg = app.get(&format!("/certificate/{uuid}.svg"), None).await;
    assert!(svg.body.contains(">Ada Lovelace</text>"), "{}", svg.body);
    assert!(
        svg.body.contains(r#"x="275""#) && svg.body.contains(r#"x="825""#),
        "two columns"
    );
    let pdf = app.get(&format!("/certificate/{uuid}.pdf"), None).await;
    assert!(pdf.body.contains("Signed: Ada Lovelace, Professor, MIT"));

    let staff = app.staff_cookie().await;
    let form = app
        .get(
            &format!("/staff/courses/{}", course.readable_id),
            Some(&staff),
        )
        .await;
    assert!(
        form.body
            .contains("Ada Lovelace | Professor | MIT\nCharles Babbage</textarea>"),
        "{}",
        form.body
    );
}
