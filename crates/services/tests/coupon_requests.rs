//! xPRO's coupon request flow through the Google simulator over real HTTP, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks: a request row becomes a batch of codes and an
//! assignment spreadsheet (in the folder, protected, shared); emails typed next to codes
//! are mailed the enrollment link; the message's delivery and the redemption are written
//! back; a second pass changes nothing. A batch shown in an enrollment-code sheet is kept
//! current there.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use services::Context;
use services::commerce::checkout::{self, Checkout};
use services::commerce::{Processor, Storefront, basket};
use services::coupon_requests::FollowDelivery;
use services::sheets::assignments::ProcessSheet;
use services::sheets::code_sheets::UpdateCodeSheets;
use services::sheets::{ProcessCouponRequests, Sheets, Worksheet};
use simulators::google as sim;
use store::Store;
use store::commerce::baskets::Owner;
use store::commerce::coupon_requests as requests;

const FOLDER: &str = "codes-folder";
const SITE: &str = "http://registrar.test";

fn row(cells: &[&str]) -> Vec<String> {
    cells.iter().map(|c| c.to_string()).collect()
}

struct Fixture {
    store: Store,
    google: Arc<sim::Google>,
    sheets: Arc<Sheets>,
    outbox: std::path::PathBuf,
}

impl Fixture {
    async fn drain(&self) {
        services::testing::drain(Context {
            site_url: SITE.into(),
            mail_outbox: self.outbox.clone(),
            sheets: Some(self.sheets.clone()),
            ..services::testing::context(&self.store)
        })
        .await;
    }

    async fn drain_with<J: jobs::Job>(&self, job: &J) {
        jobs::push(self.store.db(), job, jobs::Enqueue::default())
            .await
            .unwrap();
        self.drain().await;
    }

    fn outbox(&self) -> Vec<services::mail::Delivered> {
        services::mail::outbox(&self.outbox)
    }
}

async fn fixture() -> Fixture {
    let store = store::testing::fresh_store().await;
    store::testing::import_original(&store, "xpro_programs.json").await;
    let google = Arc::new(sim::Google::default());
    let url = simulators::serve(sim::router(google.clone())).await;
    let sheets = Arc::new(Sheets {
        coupon_requests: Some(Worksheet {
            spreadsheet: "requests".into(),
            title: "Sheet1".into(),
            first_row: 2,
        }),
        output_folder: Some(FOLDER.into()),
        admin_emails: vec!["finance@example.edu".into()],
        ..Sheets::new(simulators::google::client(&url))
    });
    let outbox =
        std::env::temp_dir().join(format!("registrar-coupons-{:016x}", rand::random::<u64>()));
    Fixture {
        store,
        google,
        sheets,
        outbox,
    }
}

/// A live xPRO program with a product on sale: (readable id, product id).
async fn program_on_sale(store: &Store) -> (String, i64) {
    let view = store::catalog::read::load(store.db()).await.unwrap();
    view.programs
        .iter()
        .find_map(|p| {
            let product = p.product.as_ref().filter(|p| p.is_active)?;
            (p.live && !p.is_external).then(|| (p.readable_id.clone(), product.id))
        })
        .expect("an xPRO program on sale")
}

/// The learner puts the product in the basket with the code and checks out for nothing.
async fn enroll_with_code(
    store: &Store,
    learner: &store::accounts::User,
    product_id: i64,
    code: &str,
) {
    let now = Utc::now();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let storefront = Storefront {
        base_url: SITE.into(),
        reference_prefix: "xpro-b2c".into(),
        bulk_reference_prefix: "xpro-bulk".into(),
        environment: "test".into(),
        currency: "USD".into(),
        processor: Processor {
            url: "http://127.0.0.1:9".into(),
            access_key: "key".into(),
            profile_id: "profile".into(),
            secret_key: "secret".into(),
        },
        refunds: None,
        support_email: None,
    };
    let owner = Owner::User(learner.id);
    basket::put(store, &view, &owner, Some(product_id), Some(code), now)
        .await
        .unwrap();
    let paid = checkout::checkout(store, &view, &storefront, learner, None, None, now)
        .await
        .unwrap();
    assert!(
        matches!(paid, Checkout::Free { .. }),
        "the code pays it all"
    );
}

#[tokio::test]
async fn a_request_row_becomes_codes_mailed_delivered_and_enrolled_on_its_assignment_sheet() {
    let f = fixture().await;
    let (program, product_id) = program_on_sale(&f.store).await;
    let header = row(&["PO", "Coupon name", "Num", "Product", "Company"]);
    f.google.set_sheet(
        "requests",
        "Sheet1",
        vec![
            header,
            row(&["PO-1", "acme-2026", "3", &program, "Acme", "", "12/31/2099"]),
            row(&["PO-2", "acme-2026", "1", &program, "Acme"]),
            row(&["PO-3", "nothing", "2", "program-v1:xPRO+NOPE", "Acme"]),
            row(&[
                "PO-4", "skipped", "2", &program, "Acme", "", "", "", "", "", "TRUE",
            ]),
        ],
    );
    f.drain_with(&ProcessCouponRequests::default()).await;

    let sheet = f.google.rows("requests", "Sheet1");
    assert!(!sheet[1][8].is_empty(), "processed date: {:?}", sheet[1]);
    assert_eq!(sheet[1].get(9).map_or("", String::as_str), "");
    assert_eq!(
        sheet[2][9],
        "Error: Coupon name 'acme-2026' already exists in the sheet"
    );
    assert!(
        sheet[3][9].contains("program-v1:xPRO+NOPE"),
        "the bad product is named: {:?}",
        sheet[3]
    );
    assert!(sheet[4].len() <= 11 && sheet[4].get(8).is_none_or(String::is_empty));

    let request = requests::by_name(f.store.db(), "acme-2026")
        .await
        .unwrap()
        .expect("the request");
    assert_eq!((request.num_codes, request.product_id), (3, product_id));
    assert!(request.expiration.is_some());
    let codes = requests::codes(f.store.db(), &request).await.unwrap();
    assert_eq!(codes.len(), 3);

    // The assignment spreadsheet: in the folder, titled, shared, protected, filled.
    let files = f.google.files_in(FOLDER);
    assert_eq!(files.len(), 1);
    let file = &files[0];
    assert_eq!(request.sheet_id.as_deref(), Some(file.as_str()));
    let drive = f.google.file(file).unwrap();
    assert_eq!(
        drive.name,
        format!("Enrollment Codes - Acme - PO-1 - {program}")
    );
    assert_eq!(drive.shared_with, vec!["finance@example.edu".to_string()]);
    assert_eq!(drive.protected.len(), 3);
    let rows = f.google.rows(file, "Sheet1");
    assert_eq!(rows[0][0], "Coupon Code");
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[1][0], codes[0].code);
    assert_eq!(
        rows[1][4],
        format!("{SITE}/redeem/?product={product_id}&code={}", codes[0].code)
    );
    assert!(
        f.google
            .edit(file, "Sheet1", 2, 0, &[String::from("forged")])
            .await
            .is_err(),
        "codes are protected"
    );

    // Emails typed next to two codes: one is mailed, the other is no address.
    f.google
        .edit(file, "Sheet1", 2, 1, &[String::from("Ada@Example.edu")])
        .await
        .unwrap();
    f.google
        .edit(file, "Sheet1", 3, 1, &[String::from("not an address")])
        .await
        .unwrap();
    let job = ProcessSheet {
        request_id: request.id,
    };
    f.drain_with(&job).await;
    let rows = f.google.rows(file, "Sheet1");
    assert_eq!(rows[1][2], "assigned");
    assert!(!rows[1][3].is_empty(), "status date");
    assert_eq!(rows[2][2], "invalid");
    let mail = f.outbox();
    assert_eq!(mail.len(), 1, "one message: {mail:?}");
    assert_eq!(mail[0].to, "ada@example.edu");
    assert_eq!(mail[0].subject, "Complete your MIT xPRO Enrollment");
    assert!(mail[0].text.contains(&rows[1][4]), "the enrollment link");

    // The same sheet again: nothing new is mailed or changed.
    f.drain_with(&job).await;
    assert_eq!(f.outbox().len(), 1);

    // The message is delivered: the sheet says so; the request is complete once every
    // code is assigned too.
    let codes = requests::codes(f.store.db(), &request).await.unwrap();
    let message = codes[0]
        .assignment
        .as_ref()
        .and_then(|a| a.message_id.clone())
        .expect("the message is known");
    assert!(
        store::mail::status(f.store.db(), &message, "delivered", None, Utc::now())
            .await
            .unwrap()
    );
    f.drain_with(&FollowDelivery::default()).await;
    let rows = f.google.rows(file, "Sheet1");
    assert_eq!(rows[1][2], "delivered");
    let completed = || {
        f.google
            .file(file)
            .unwrap()
            .app_properties
            .get("assignmentsCompleted")
            .cloned()
    };
    assert_eq!(
        completed().as_deref(),
        Some("FALSE"),
        "a code is unassigned, another has no address"
    );
    // The bad address corrected and the last code assigned: all delivered, complete.
    for (row, email) in [(3, "dan@example.edu"), (4, "carol@example.edu")] {
        f.google
            .edit(file, "Sheet1", row, 1, &[email.to_string()])
            .await
            .unwrap();
    }
    f.drain_with(&job).await;
    for code in requests::codes(f.store.db(), &request).await.unwrap() {
        let message = code.assignment.and_then(|a| a.message_id).unwrap();
        store::mail::status(f.store.db(), &message, "delivered", None, Utc::now())
            .await
            .unwrap();
    }
    f.drain_with(&FollowDelivery::default()).await;
    assert_eq!(
        completed().as_deref(),
        Some("TRUE"),
        "all assigned, all arrived"
    );

    // Someone else enrolls with Ada's code: enrolled, and who.
    let now = Utc::now();
    let bob = store::testing::learner(f.store.db(), "bob", now)
        .await
        .unwrap();
    enroll_with_code(&f.store, &bob, product_id, &codes[0].code).await;
    f.drain().await;
    let rows = f.google.rows(file, "Sheet1");
    assert_eq!(rows[1][2], "enrolled");
    assert_eq!(rows[1][5], bob.email);

    // Taking the redeemed code back is refused quietly; Dan's is taken back.
    f.google
        .edit(file, "Sheet1", 2, 1, &[String::new()])
        .await
        .unwrap();
    f.google
        .edit(file, "Sheet1", 3, 1, &[String::new()])
        .await
        .unwrap();
    f.drain_with(&job).await;
    let codes: HashMap<String, Option<String>> = requests::codes(f.store.db(), &request)
        .await
        .unwrap()
        .into_iter()
        .map(|c| (c.code, c.assignment.map(|a| a.status)))
        .collect();
    let mut statuses: Vec<&str> = codes.values().flatten().map(String::as_str).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, ["delivered", "enrolled"], "{codes:?}");
    let rows = f.google.rows(file, "Sheet1");
    assert_eq!(rows[2].get(2).map_or("", String::as_str), "");
    assert_eq!(
        completed().as_deref(),
        Some("FALSE"),
        "a code taken back reopens the request"
    );
}

#[tokio::test]
async fn a_staff_request_is_checked_field_by_field_and_writes_nothing_when_refused() {
    let f = fixture().await;
    let (program, _) = program_on_sale(&f.store).await;
    let view = store::catalog::read::load(f.store.db()).await.unwrap();
    let form = services::coupon_requests::RequestForm {
        name: "bad".into(),
        num_codes: "0".into(),
        product: program.clone(),
        company: String::new(),
        expiration: "01/01/2000".into(),
        ..Default::default()
    };
    let txn = f.store.write().await.unwrap();
    let refused = services::coupon_requests::create_in(
        &txn,
        &view,
        &form,
        requests::Source::Staff,
        Utc::now(),
    )
    .await;
    let Err(services::coupon_requests::RequestError::Invalid(errors)) = refused else {
        panic!("refused: {refused:?}");
    };
    for field in ["purchase_order", "num_codes", "company", "expiration"] {
        assert!(errors.get(field).is_some(), "{field}: {errors}");
    }
    drop(txn);
    assert!(requests::list(f.store.db()).await.unwrap().is_empty());
    assert_eq!(
        store::testing::count(&f.store, "SELECT COUNT(*) AS n FROM discounts").await,
        0,
        "no code was written"
    );
}

#[tokio::test]
async fn a_batch_shown_in_a_sheet_is_written_whole_then_kept_current_row_by_row() {
    let f = fixture().await;
    let (program, product_id) = program_on_sale(&f.store).await;
    let view = store::catalog::read::load(f.store.db()).await.unwrap();
    let txn = f.store.write().await.unwrap();
    let request = services::coupon_requests::create_in(
        &txn,
        &view,
        &services::coupon_requests::RequestForm {
            name: "acme".into(),
            purchase_order: "PO-1".into(),
            company: "Acme".into(),
            num_codes: "3".into(),
            product: program,
            ..Default::default()
        },
        requests::Source::Staff,
        Utc::now(),
    )
    .await
    .unwrap();
    let codes: Vec<String> = requests::codes(&txn, &request)
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.code)
        .collect();
    store::commerce::code_sheets::set(&txn, "acme", "codes", "Acme #1", Utc::now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    f.google.set_sheet("codes", "Acme #1", Vec::new());
    f.drain_with(&UpdateCodeSheets::default()).await;
    let tab = f.google.rows("codes", "Acme #1");
    assert_eq!(tab[0][0], "Enrollment Code");
    assert_eq!(tab.len(), 4);
    assert_eq!(
        tab[1][..3],
        [codes[0].clone(), "one-time".into(), "0".into()]
    );

    // Staff sort the tab, note something beside a code and delete another's row.
    let mut sorted = vec![tab[0].clone(), tab[2].clone(), tab[1].clone()];
    sorted[2].push("sent to Ada".into());
    f.google.set_sheet("codes", "Acme #1", sorted);
    let bob = store::testing::learner(f.store.db(), "bob", Utc::now())
        .await
        .unwrap();
    enroll_with_code(&f.store, &bob, product_id, &codes[0]).await;
    f.drain().await;
    let tab = f.google.rows("codes", "Acme #1");
    assert_eq!(
        tab[2][0], codes[0],
        "the code's row stays where staff put it"
    );
    assert_eq!(tab[2][2], "1");
    assert!(!tab[2][3].is_empty(), "a used one-time code is invalidated");
    assert_eq!(tab[2][4], bob.email);
    assert_eq!(tab[2][6], "sent to Ada", "the note is kept");
    assert_eq!(tab[1][0], codes[1]);
    assert_eq!(tab[3][0], codes[2], "the deleted row comes back at the end");

    // Another tab: written whole there.
    store::commerce::code_sheets::set(f.store.db(), "acme", "codes", "Acme 2", Utc::now())
        .await
        .unwrap();
    f.drain_with(&UpdateCodeSheets::default()).await;
    let moved = f.google.rows("codes", "Acme 2");
    assert_eq!(moved.len(), 4);
    assert_eq!(moved[1][0], codes[0], "most used first");
}
