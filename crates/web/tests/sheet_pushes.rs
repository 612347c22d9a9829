//! Drive's change notifications for the coupon sheets through the full router: a
//! notification on an assignment spreadsheet's channel queues that request's run five
//! minutes later (later ones join it); the coupon request sheet's queues its run; a
//! channel posting about another file, or without its fileId, is refused.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use chrono::Utc;
use common::App;
use services::sheets::{Sheets, Webhook, Worksheet};

const TOKEN: &str = "drive-token";

fn push(query: &str, channel: &str) -> Request<Body> {
    Request::post(format!("/api/sheets/watch/?{query}"))
        .header("X-Goog-Channel-ID", channel)
        .header("X-Goog-Channel-Token", TOKEN)
        .header("X-Goog-Resource-State", "update")
        .body(Body::empty())
        .unwrap()
}

async fn watched(app: &App, file: &str, channel: &str) {
    store::sheets::save_watch(
        app.store.db(),
        &store::sheets::Watch {
            file_id: file.into(),
            channel_id: channel.into(),
            resource_id: format!("res-{file}"),
            expires_at: Utc::now() + chrono::Duration::hours(20),
        },
    )
    .await
    .unwrap();
}

async fn queued(app: &App, kind: &str) -> Vec<(Option<String>, chrono::DateTime<Utc>)> {
    let db = app.store.db();
    sea_orm::ConnectionTrait::query_all_raw(
        db,
        sea_orm::Statement::from_string(
            sea_orm::ConnectionTrait::get_database_backend(db),
            format!("SELECT unique_key, run_at FROM jobs WHERE kind = '{kind}'"),
        ),
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| {
        (
            r.try_get("", "unique_key").unwrap(),
            r.try_get("", "run_at").unwrap(),
        )
    })
    .collect()
}

#[tokio::test]
async fn assignment_and_request_sheet_pushes_queue_their_runs_and_strays_are_refused() {
    let google = simulators::google::client("http://127.0.0.1:9");
    let sheets = Sheets {
        coupon_requests: Some(Worksheet {
            spreadsheet: "requests".into(),
            title: "Sheet1".into(),
            first_row: 2,
        }),
        webhook: Some(Webhook {
            address: "http://registrar.test/api/sheets/watch/".into(),
            token: TOKEN.into(),
        }),
        ..Sheets::new(google)
    };
    let app = App::with(web::Settings {
        sheets: Some(Arc::new(sheets)),
        ..common::settings("http://registrar.test")
    })
    .await;
    let request =
        common::coupon_request(&app.store, store::commerce::coupon_requests::Source::Sheet).await;
    store::commerce::coupon_requests::set_sheet(app.store.db(), request.id, "assign-1")
        .await
        .unwrap();
    watched(&app, "assign-1", "chan-assign").await;
    watched(&app, "requests", "chan-requests").await;

    let before = Utc::now();
    let query = "sheet=enrollassign&fileId=assign-1";
    for _ in 0..2 {
        let ok = app.send(push(query, "chan-assign")).await;
        assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    }
    let runs = queued(&app, "sheets.process_assignment_sheet").await;
    assert_eq!(runs.len(), 1, "the second push joins the first: {runs:?}");
    let key = format!("sheets:assign:{}", request.id);
    assert_eq!(runs[0].0.as_deref(), Some(key.as_str()));
    assert!(
        runs[0].1 >= before + chrono::Duration::seconds(299),
        "{runs:?}"
    );

    let ok = app.send(push("sheet=enrollrequest", "chan-requests")).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(queued(&app, "sheets.handle_coupon_requests").await.len(), 1);

    let no_file = app.send(push("sheet=enrollassign", "chan-assign")).await;
    assert_eq!(no_file.status, StatusCode::BAD_REQUEST);
    let other_file = app
        .send(push("sheet=enrollassign&fileId=requests", "chan-assign"))
        .await;
    assert_eq!(other_file.status, StatusCode::BAD_REQUEST);
    assert!(
        other_file.body.contains("does not watch"),
        "{}",
        other_file.body
    );
    let wrong_kind = app.send(push("sheet=enrollchange", "chan-requests")).await;
    assert_eq!(wrong_kind.status, StatusCode::BAD_REQUEST);
}
