//! The staff coupon-request queue (the native side of xPRO's coupon request and assignment
//! sheets): a refused request says why field by field and writes nothing; a request makes
//! its codes; staff assign codes to emails, each new one mailed once; the assignments are a
//! CSV for staff only. A batch can be shown in an enrollment-code sheet.

mod common;

use axum::http::StatusCode;
use common::App;
use store::commerce::coupon_requests as requests;

#[tokio::test]
async fn staff_create_a_request_assign_its_codes_and_download_the_assignments() {
    let app = App::with(common::settings("http://registrar.test")).await;
    common::import(&app.store, &["xpro_programs.json"]).await;
    let view = store::catalog::read::load(app.store.db()).await.unwrap();
    let program = common::program_on_sale(&view);
    let staff = app.staff_cookie().await;

    let refused = app
        .post(
            "/staff/coupon-requests/",
            Some(&staff),
            &[
                ("name", "acme"),
                ("purchase_order", "PO-9"),
                ("company", "Acme"),
                ("num_codes", "lots"),
                ("product", "program-v1:xPRO+NOPE"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("must be a whole number"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("no run or program"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"PO-9\""),
        "what was typed is kept"
    );
    assert!(requests::list(app.store.db()).await.unwrap().is_empty());

    let created = app
        .post(
            "/staff/coupon-requests/",
            Some(&staff),
            &[
                ("name", "acme"),
                ("purchase_order", "PO-9"),
                ("company", "Acme"),
                ("num_codes", "2"),
                ("product", &program),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let request = requests::by_name(app.store.db(), "acme")
        .await
        .unwrap()
        .unwrap();
    let page_path = format!("/staff/coupon-requests/{}", request.id);
    assert_eq!(created.location.as_deref(), Some(page_path.as_str()));
    let codes = requests::codes(app.store.db(), &request).await.unwrap();
    assert_eq!(codes.len(), 2);
    let page = app.get(&page_path, Some(&staff)).await;
    assert!(page.body.contains(&codes[1].code), "{}", page.body);

    let assign = format!("/staff/coupon-requests/{}/assign", request.id);
    let first = format!("email_{}", codes[0].discount_id);
    let saved = app
        .post(
            &assign,
            Some(&staff),
            &[(first.as_str(), "Ada@Example.edu")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert!(
        saved
            .location
            .as_deref()
            .unwrap_or_default()
            .contains("done="),
        "{:?}",
        saved.location
    );
    // Saving the same again mails nobody twice; what is no address is marked, not mailed.
    let second = format!("email_{}", codes[1].discount_id);
    app.post(
        &assign,
        Some(&staff),
        &[
            (first.as_str(), "ada@example.edu"),
            (second.as_str(), "=HYPERLINK(\"x\")"),
        ],
    )
    .await;
    let mails = store::testing::count(
        &app.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'mail.send' AND payload LIKE '%Complete your MIT xPRO Enrollment%'",
    )
    .await;
    assert_eq!(mails, 1);
    let page = app.get(&page_path, Some(&staff)).await;
    assert!(page.body.contains("ada@example.edu") && page.body.contains("assigned"));

    let csv_path = format!("/staff/coupon-requests/{}/assignments.csv", request.id);
    let csv = app.get(&csv_path, Some(&staff)).await;
    assert_eq!(csv.status, StatusCode::OK);
    let lines: Vec<&str> = csv.body.lines().collect();
    assert_eq!(lines[0], "email,enrollment_url,coupon_code");
    assert_eq!(lines.len(), 3, "{}", csv.body);
    assert!(
        csv.body.contains("\"'=hyperlink(\"\"x\"\")\""),
        "a would-be formula stays text: {}",
        csv.body
    );
    assert!(lines[1].starts_with("\"ada@example.edu\",\"http://registrar.test/redeem/?product="));
    assert!(lines[1].ends_with(&format!("\"{}\"", codes[0].code)));
    let anonymous = app
        .get(&format!("/api/bulk_assignments/{}/", request.id), None)
        .await;
    assert_eq!(anonymous.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn staff_show_a_batch_in_a_code_sheet_and_an_unknown_batch_is_refused() {
    let app = App::with(common::settings("http://registrar.test")).await;
    common::coupon_request(&app.store, requests::Source::Staff).await;
    let staff = app.staff_cookie().await;
    let refused = app
        .post(
            "/staff/code-sheets/",
            Some(&staff),
            &[("batch", "nobody"), ("spreadsheet", "sheet-9")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(
        refused.body.contains("no batch of codes named"),
        "{}",
        refused.body
    );
    assert!(
        refused.body.contains("value=\"sheet-9\""),
        "what was typed is kept"
    );

    let saved = app
        .post(
            "/staff/code-sheets/",
            Some(&staff),
            &[("batch", "acme"), ("spreadsheet", "sheet-9")],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    let shown = store::commerce::code_sheets::list(app.store.db())
        .await
        .unwrap();
    assert_eq!(
        (shown[0].batch.as_str(), shown[0].tab.as_str()),
        ("acme", "Sheet1")
    );
    let queued = store::testing::count(
        &app.store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'b2b.update_enrollment_code_sheets'",
    )
    .await;
    assert_eq!(queued, 1, "written at once");
    app.post(
        "/staff/code-sheets/remove",
        Some(&staff),
        &[("batch", "acme")],
    )
    .await;
    assert!(
        store::commerce::code_sheets::list(app.store.db())
            .await
            .unwrap()
            .is_empty()
    );
}
