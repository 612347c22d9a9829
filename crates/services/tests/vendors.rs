//! The external vendor sync against the report API simulator over real HTTP (jobs polled
//! until ready), on the backend `REGISTRAR_TEST_DATABASE_URL` picks.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use domain::Money;
use integrations::vendor_reports::ReportApi;
use services::Context;
use services::vendors::{SyncExternalCourses, VendorSync};
use simulators::vendor_reports::{self as sim, VendorReports};
use store::Store;
use store::catalog::read::{CatalogView, CourseView};

async fn simulator(reports: VendorReports) -> (Arc<VendorReports>, String) {
    let state = Arc::new(reports);
    let url = simulators::serve(sim::router(state.clone())).await;
    (state, url)
}

fn outbox(test: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("registrar-vendors-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// Queues the daily sync and runs jobs until they settle; none may go dead.
async fn sync(store: &Store, url: &str, api_key: &str, outbox: &Path) {
    let dead = sync_expecting_dead(store, url, api_key, outbox).await;
    assert!(dead.is_empty(), "jobs went dead: {dead:#?}");
}

/// Queues the daily sync and runs jobs until they settle; the jobs that went dead.
async fn sync_expecting_dead(
    store: &Store,
    url: &str,
    api_key: &str,
    outbox: &Path,
) -> Vec<services::testing::DeadJob> {
    let mut reports = ReportApi::new(url, api_key, 5);
    reports.poll_every = Duration::from_millis(10);
    jobs::push(
        store.db(),
        &SyncExternalCourses::default(),
        jobs::Enqueue::default(),
    )
    .await
    .unwrap();
    services::testing::drain_expecting_dead(Context {
        mail_outbox: outbox.to_path_buf(),
        vendors: Some(Arc::new(VendorSync {
            reports,
            recipients: vec!["catalog@example.edu".into()],
        })),

        ..services::testing::context(store)
    })
    .await
}

async fn vendor_courses(store: &Store, platform: &str) -> (CatalogView, Vec<CourseView>) {
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let courses = view
        .courses
        .iter()
        .filter(|c| c.is_external && c.platform.as_deref() == Some(platform))
        .cloned()
        .collect();
    (view, courses)
}

#[tokio::test]
async fn the_daily_sync_creates_updates_and_takes_down_vendor_runs_and_mails_the_counts() {
    let store = store::testing::fresh_store().await;
    let mail = outbox("daily");
    let now = Utc::now();
    let (reports, url) = simulator(VendorReports::new(2)).await;
    sim::sample(&reports, now);
    store::catalog::vocabulary::set_platform_sync(store.db(), "Emeritus", true)
        .await
        .unwrap();

    sync(&store, &url, sim::API_KEY, &mail).await;
    let (_, emeritus) = vendor_courses(&store, "Emeritus").await;
    assert_eq!(emeritus.len(), 2, "both Emeritus courses exist");
    let science = emeritus
        .iter()
        .find(|c| c.readable_id == "course-v1:xPRO+DSBDA")
        .unwrap();
    assert!(science.live && science.runs[0].window.live);
    let product = science.runs[0].product.as_ref().unwrap();
    assert_eq!(product.price(), Some(Money::from_minor(285_000)));
    assert!(
        science
            .page
            .as_ref()
            .unwrap()
            .external_marketing_url
            .as_deref()
            == Some("https://vendor.example.com/mxp-dsbda/"),
        "the page links out, tracking parameters dropped"
    );
    assert!(
        vendor_courses(&store, "Global Alumni").await.1.is_empty(),
        "Global Alumni's sync is off"
    );
    let sent = services::mail::outbox(&mail);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].to, "catalog@example.edu");
    assert_eq!(
        sent[0].subject,
        "MIT xPRO Emeritus Course Sync Report – Latest Statistics"
    );
    assert!(
        sent[0].text.contains("Courses created: 2"),
        "{}",
        sent[0].text
    );

    // The next day: one course's price moves, the other's run is gone, a row is in euros.
    let start = now + chrono::Duration::weeks(4);
    let code = |n: u32| format!("MXP-DSBDA-{}#{n}", start.format("%y-%m"));
    let mut euros = sim::row(
        "Euro course",
        "MXP-EUR",
        &code(3),
        Some("100"),
        start,
        4,
        "",
        "",
    );
    euros.insert("list_currency".into(), "EUR".into());
    reports.set_report(
        "Batch",
        vec![
            sim::row(
                "Data Science and Big Data Analytics",
                "MXP-DSBDA",
                &code(1),
                Some("2999"),
                start,
                10,
                "Technology",
                "3.6",
            ),
            euros,
        ],
    );
    sync(&store, &url, sim::API_KEY, &mail).await;
    let (_, emeritus) = vendor_courses(&store, "Emeritus").await;
    let science = emeritus
        .iter()
        .find(|c| c.readable_id == "course-v1:xPRO+DSBDA")
        .unwrap();
    let versions = &science.runs[0].product.as_ref().unwrap().versions;
    assert_eq!(versions.len(), 2, "the new price is a new version");
    assert_eq!(versions[1].1.price, Money::from_minor(299_900));
    let design = emeritus
        .iter()
        .find(|c| c.readable_id == "course-v1:xPRO+PDD_ONL")
        .unwrap();
    assert!(!design.runs[0].window.live, "the dropped run is taken down");
    assert!(!design.runs[0].product.as_ref().unwrap().is_active);
    let sent = services::mail::outbox(&mail);
    assert_eq!(sent.len(), 2);
    let latest = &sent[0].text;
    for line in [
        "Course runs deactivated: 1",
        "Course runs skipped (bad data): 1",
        "Product versions created: 1",
        "Existing courses: 1",
    ] {
        assert!(latest.contains(line), "{line} in {latest}");
    }
}

#[tokio::test]
async fn a_missing_report_or_a_refused_key_takes_nothing_down() {
    let store = store::testing::fresh_store().await;
    let mail = outbox("missing");
    let (reports, url) = simulator(VendorReports::new(0)).await;
    sim::sample(&reports, Utc::now());
    store::catalog::vocabulary::set_platform_sync(store.db(), "Emeritus", true)
        .await
        .unwrap();
    sync(&store, &url, sim::API_KEY, &mail).await;
    assert_eq!(vendor_courses(&store, "Emeritus").await.1.len(), 2);

    sync_expecting_dead(&store, &url, "a wrong key", &mail).await;
    let (_, other_url) = simulator(VendorReports::new(0)).await;
    sync_expecting_dead(&store, &other_url, sim::API_KEY, &mail).await;
    let (_, emeritus) = vendor_courses(&store, "Emeritus").await;
    assert!(
        emeritus
            .iter()
            .all(|c| c.runs.iter().all(|r| r.window.live)),
        "an unreadable or absent report is not an empty one"
    );
    let dead = store::testing::count(
        &store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'courses.sync_external_course_runs' AND state = 'dead'",
    )
    .await;
    assert_eq!(dead, 2, "both failures are recorded as failed jobs");
    assert_eq!(
        services::mail::outbox(&mail).len(),
        1,
        "only the good sync mailed"
    );
}
