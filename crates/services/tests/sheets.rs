//! The deferral worksheet through the Google simulator over real HTTP, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks: a ready row moves the learner to the other run and is
//! marked done, bad rows get their errors, and a second run changes nothing.

use std::sync::Arc;

use chrono::Utc;
use services::Context;
use services::sheets::{ProcessSheets, Sheets, Worksheet};
use simulators::google as sim;
use store::Store;

async fn drain(store: &Store, sheets: Arc<Sheets>) {
    jobs::push(
        store.db(),
        &ProcessSheets::default(),
        jobs::Enqueue::default(),
    )
    .await
    .unwrap();
    services::testing::drain(Context {
        mail_outbox: std::env::temp_dir().join("registrar-sheets-outbox"),
        sheets: Some(sheets),
        ..services::testing::context(store)
    })
    .await;
}

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

#[tokio::test]
async fn a_deferral_row_moves_the_enrollment_once_and_bad_rows_say_why() {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "mitxonline_courses.json").await;
    let now = Utc::now();
    let ada = store::testing::learner(store.db(), "ada", now)
        .await
        .unwrap();
    store::enrollments::activate(store.db(), ada.id, 174, "verified", now)
        .await
        .unwrap();
    let (from, to) = (
        "course-v1:MITxT+18.03.1x+2T2023",
        "course-v1:MITxT+18.03.1x+2T2024",
    );

    let google = Arc::new(sim::Google::default());
    let url = simulators::serve(sim::router(google.clone())).await;
    let header = vec![Vec::new(); 4];
    let mut rows = header;
    rows.push(row(&[
        "1",
        "11/20/2026",
        "ada@example.edu",
        "ZD",
        "staff@example.edu",
        from,
        to,
    ]));
    rows.push(row(&[
        "2",
        "11/20/2026",
        "ada@example.edu",
        "ZD",
        "staff@example.edu",
        to,
        to,
    ]));
    rows.push(row(&[
        "3",
        "11/20/2026",
        "nobody@example.edu",
        "ZD",
        "staff@example.edu",
        from,
        to,
    ]));
    rows.push(row(&[
        "4",
        "11/20/2026",
        "ada@example.edu",
        "ZD",
        "staff@example.edu",
        from,
        to,
        "",
        "",
        "",
        "TRUE",
    ]));
    google.set_sheet("changes", "Deferrals", rows);
    let sheets = Arc::new(Sheets {
        deferrals: Some(Worksheet {
            spreadsheet: "changes".into(),
            title: "Deferrals".into(),
            first_row: 5,
        }),
        ..Sheets::new(simulators::google::client(&url))
    });
    drain(&store, sheets.clone()).await;

    let sheet = google.rows("changes", "Deferrals");
    assert_eq!(sheet[4][7], "Registrar");
    assert!(!sheet[4][8].is_empty(), "completed date");
    assert_eq!(sheet[5][9], "Error: 'from' and 'to' ids are identical");
    assert_eq!(
        sheet[6][9],
        "Error: User 'nobody@example.edu' does not exist"
    );
    assert!(
        sheet[7].len() <= 11 && sheet[7].get(7).is_none_or(String::is_empty),
        "skipped"
    );
    let moved = store::enrollments::for_run(store.db(), ada.id, 256)
        .await
        .unwrap()
        .unwrap();
    assert!(
        moved.active && moved.mode == "verified",
        "the same track in the new run"
    );
    let old = store::enrollments::for_run(store.db(), ada.id, 174)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (old.active, old.change_status.as_deref()),
        (false, Some("deferred"))
    );

    // Run again: nothing moves twice, errors stand.
    drain(&store, sheets).await;
    assert_eq!(
        google.rows("changes", "Deferrals"),
        sheet,
        "nothing changed"
    );
    assert_eq!(
        store::testing::count(
            &store,
            "SELECT COUNT(*) AS n FROM course_run_enrollments WHERE user_id = 1 AND active = true"
        )
        .await,
        1
    );
}
