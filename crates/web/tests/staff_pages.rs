//! The staff area through the full router.

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{TimeZone, Utc};

use common::{App, CSRF};

async fn app() -> App {
    let store = store::testing::fresh_store().await;
    common::import(
        &store,
        &[
            "xpro_courses.json",
            "mitxonline_courses.json",
            "mitxonline_programs.json",
        ],
    )
    .await;
    let settings = common::settings("http://registrar.test");
    let now = Utc.with_ymd_and_hms(2024, 3, 10, 12, 0, 0).unwrap();
    App {
        router: web::router(web::AppState::new(
            store.clone(),
            settings,
            Arc::new(move || now),
        )),
        store,
    }
}

/// The submitted form of the course edit page, as a browser would send it unchanged.
fn course_form(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for tag in html
        .split('<')
        .filter(|t| t.starts_with("input ") || t.starts_with("textarea "))
    {
        let attr = |name: &str| {
            tag.split(&format!(" {name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(|v| v.replace("&#43;", "+").replace("&#58;", ":"))
        };
        let Some(name) = attr("name") else { continue };
        if tag.contains("type=\"checkbox\"") {
            if tag.contains(" checked") {
                fields.push((name, "on".to_string()));
            }
        } else if tag.starts_with("textarea") {
            let text = tag
                .split_once('>')
                .map(|(_, t)| t.to_string())
                .unwrap_or_default();
            fields.push((name, text));
        } else {
            fields.push((name, attr("value").unwrap_or_default()));
        }
    }
    fields
}

fn with(fields: &[(String, String)], changes: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = fields.to_vec();
    for (name, value) in changes {
        match out.iter_mut().find(|(n, _)| n == name) {
            Some(field) => field.1 = value.to_string(),
            None => out.push((name.to_string(), value.to_string())),
        }
    }
    out
}

fn pairs(fields: &[(String, String)]) -> Vec<(&str, &str)> {
    fields
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect()
}

#[tokio::test]
async fn sign_in_guards_the_staff_area() {
    let app = app().await;
    let reply = app.get("/staff/", None).await;
    assert!(reply.body.contains("Staff sign-in"));
    assert_eq!(
        app.get("/staff/courses/", None).await.location.as_deref(),
        Some("/staff/")
    );
    let bad = app
        .post("/staff/sign-in", None, &[("token", "guess")])
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST, "{}", bad.body);
    assert!(bad.body.contains("That token is not a staff token."));
    let cookie = app.staff_cookie().await;
    let home = app.get("/staff/", Some(&cookie)).await;
    assert!(home.body.contains("Signed in as staff@example.edu"));
    let list = app.get("/staff/courses/", Some(&cookie)).await;
    assert!(list.body.contains("Introduction to Differential Equations"));
}

#[tokio::test]
async fn a_title_edit_shows_on_the_public_page_and_a_bad_form_keeps_its_values() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let page = app
        .get("/staff/courses/course-v1:xPRO+LASERx3", Some(&cookie))
        .await;
    assert_eq!(page.status, StatusCode::OK);
    let form = course_form(&page.body);
    assert!(
        form.iter().any(|(n, _)| n == "runs[0].start_date"),
        "{form:?}"
    );

    let bad = with(
        &form,
        &[
            ("title", "Culture, Renamed"),
            ("runs[0].end_date", "2020-01-01T00:00"),
            ("runs[1].price", "lots"),
            ("signatories", " | Dean"),
        ],
    );
    let reply = app
        .post(
            "/staff/courses/course-v1:xPRO+LASERx3",
            Some(&cookie),
            &pairs(&bad),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("is not a decimal amount"),
        "the price error is shown"
    );
    assert!(
        reply.body.contains("value=\"Culture, Renamed\""),
        "the typed title stays"
    );
    assert!(
        reply.body.contains("each line starts with a name"),
        "the signatories error is shown"
    );
    let public = app.get("/courses/course-v1:xPRO+LASERx3/", None).await;
    assert!(
        public
            .body
            .contains("Navigating and Leveraging Culture and Networks"),
        "nothing was saved"
    );

    let dates = with(&form, &[("runs[0].end_date", "2020-01-01T00:00")]);
    let reply = app
        .post(
            "/staff/courses/course-v1:xPRO+LASERx3",
            Some(&cookie),
            &pairs(&dates),
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("must not be before start_date"),
        "the write's own check is shown next to the field"
    );
    assert!(reply.body.contains("value=\"2020-01-01T00:00\""));

    let good = with(
        &form,
        &[
            ("title", "Culture and Networks for Engineers"),
            ("runs[0].price", "1099"),
            ("signatories", "Ada Lovelace | Professor | MIT"),
        ],
    );
    let reply = app
        .post(
            "/staff/courses/course-v1:xPRO+LASERx3",
            Some(&cookie),
            &pairs(&good),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let saved = app
        .get(reply.location.as_deref().unwrap(), Some(&cookie))
        .await;
    assert!(saved.body.contains("Saved."));
    assert!(
        saved
            .body
            .contains(">Ada Lovelace | Professor | MIT</textarea>")
    );
    assert!(
        saved.body.contains("$999.00; $1,099.00") || saved.body.contains("$1,099.00"),
        "price history shows the new version"
    );
    let public = app.get("/courses/course-v1:xPRO+LASERx3/", None).await;
    assert!(
        public
            .body
            .contains("<title>Culture and Networks for Engineers · Registrar</title>")
    );
}

#[tokio::test]
async fn a_new_course_and_run_are_checked_and_created() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let form = [
        ("site", "mitxonline"),
        ("readable_id", "bad id"),
        ("title", ""),
        ("new_run.courseware_id", "nope"),
    ];
    let reply = app.post("/staff/courses/", Some(&cookie), &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply.body.contains("may contain only letters"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("must not be blank"));
    assert!(
        reply.body.contains("course-v1:ORG+NUMBER+RUN"),
        "the new run's key is checked"
    );
    assert!(reply.body.contains("value=\"bad id\""));
    let duplicate = [
        ("site", "mitxonline"),
        ("readable_id", "course-v1:MITxT+18.03.1x"),
        ("title", "Again"),
    ];
    let reply = app.post("/staff/courses/", Some(&cookie), &duplicate).await;
    assert!(reply.body.contains("already exists"));
    let good = [
        ("site", "mitxonline"),
        ("readable_id", "course-v1:MITxT+6.002x"),
        ("title", "Circuits"),
        ("live", "on"),
        ("new_run.courseware_id", "course-v1:MITxT+6.002x+1T2027"),
    ];
    let reply = app.post("/staff/courses/", Some(&cookie), &good).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let edit = app
        .get("/staff/courses/course-v1:MITxT+6.002x", Some(&cookie))
        .await;
    assert!(edit.body.contains("course-v1:MITxT+6.002x+1T2027"));
}

#[tokio::test]
async fn a_course_whose_readable_id_is_new_can_still_be_edited() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let blank = app.get("/staff/courses/?new", Some(&cookie)).await;
    assert!(blank.body.contains("<h1>New course</h1>"), "{}", blank.body);
    let create = [
        ("site", "mitxonline"),
        ("readable_id", "new"),
        ("title", "Novelty"),
    ];
    let reply = app.post("/staff/courses/", Some(&cookie), &create).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let edit = app.get("/staff/courses/new", Some(&cookie)).await;
    assert!(edit.body.contains("<h1>Novelty</h1>"), "{}", edit.body);
    let rename = [("title", "Novelty, revised")];
    let reply = app.post("/staff/courses/new", Some(&cookie), &rename).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let edit = app.get("/staff/courses/new", Some(&cookie)).await;
    assert!(
        edit.body.contains("<h1>Novelty, revised</h1>"),
        "{}",
        edit.body
    );
}

#[tokio::test]
async fn the_requirement_tree_editor_checks_lines_and_references() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let page = app
        .get("/staff/programs/program-v1:MITxT+18.03x", Some(&cookie))
        .await;
    assert!(
        page.body.contains("all_of &#34;Required Courses&#34;")
            || page.body.contains("all_of &quot;Required Courses&quot;"),
        "{}",
        page.body
    );
    let base = [
        ("title", "18.03x Differential Equations"),
        ("live", "on"),
        ("program_type", "Series"),
    ];
    let bad_text = [&base[..], &[("requirements", "all_of\n   course x")]].concat();
    let reply = app
        .post(
            "/staff/programs/program-v1:MITxT+18.03x",
            Some(&cookie),
            &bad_text,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(
        reply
            .body
            .contains("line 2: indent with two spaces per level")
    );
    let unknown = [
        &base[..],
        &[("requirements", "all_of\n  course course-v1:Nope+X")],
    ]
    .concat();
    let reply = app
        .post(
            "/staff/programs/program-v1:MITxT+18.03x",
            Some(&cookie),
            &unknown,
        )
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("unknown course course-v1:Nope+X"));
    let good = [
        &base[..],
        &[("requirements", "all_of \"Core\"\n  course course-v1:MITxT+18.03.1x\nmin_number_of 1 elective \"Pick one\"\n  course course-v1:MITxT+18.03.2x\n  course course-v1:MITxT+18.03.3x\n"), ("price", "175")],
    ]
    .concat();
    let reply = app
        .post(
            "/staff/programs/program-v1:MITxT+18.03x",
            Some(&cookie),
            &good,
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let public = app.get("/programs/program-v1:MITxT+18.03x/", None).await;
    assert!(
        public.body.contains("Pick one")
            && public.body.contains("at least 1 of")
            && public.body.contains("$175.00")
    );
}

#[tokio::test]
async fn cross_site_posts_are_refused_and_jobs_page_renders() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let request = Request::post("/staff/programs/program-v1:MITxT+18.03x")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::HOST, "registrar.test")
        .header(header::ORIGIN, "https://evil.example")
        .header(header::COOKIE, format!("{cookie}; registrar_csrf={CSRF}"))
        .body(Body::from(format!("title=Hacked&csrf={CSRF}")))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    let forged = Request::post("/staff/programs/program-v1:MITxT+18.03x")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("{cookie}; registrar_csrf={CSRF}"))
        .body(Body::from("title=Hacked"))
        .unwrap();
    assert_eq!(
        app.send(forged).await.status,
        StatusCode::FORBIDDEN,
        "a form without the CSRF field is refused"
    );
    let jobs = app.get("/staff/jobs/", Some(&cookie)).await;
    assert_eq!(jobs.status, StatusCode::OK);
    assert!(jobs.body.contains("Pull course/program catalog"));
    assert!(jobs.body.contains("purge-finished-jobs: cron"));
}

#[tokio::test]
async fn a_new_program_is_created_with_its_tree() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    assert!(
        app.get("/staff/programs/?new", Some(&cookie))
            .await
            .body
            .contains("New program")
    );
    let duplicate = [
        ("site", "mitxonline"),
        ("readable_id", "program-v1:MITxT+18.03x"),
        ("title", "Again"),
        ("requirements", ""),
    ];
    let reply = app
        .post("/staff/programs/?new", Some(&cookie), &duplicate)
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("already exists"));
    let good = [
        ("site", "mitxonline"),
        ("readable_id", "program-v1:MITxT+ODE"),
        ("title", "Ordinary Differential Equations"),
        ("live", "on"),
        ("program_type", "Series"),
        ("price", "250"),
        (
            "requirements",
            "all_of \"Required\"\n  course course-v1:MITxT+18.03.1x\n  course course-v1:MITxT+18.03.2x\n",
        ),
    ];
    let reply = app.post("/staff/programs/?new", Some(&cookie), &good).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    assert_eq!(
        reply.location.as_deref(),
        Some("/staff/programs/program-v1:MITxT+ODE?saved=1")
    );
    let public = app.get("/programs/program-v1:MITxT+ODE/", None).await;
    assert!(
        public.body.contains("Ordinary Differential Equations") && public.body.contains("$250.00")
    );
    assert!(
        public
            .body
            .contains("href=\"/courses/course-v1:MITxT+18.03.2x/\"")
    );
}

#[tokio::test]
async fn staff_see_users_with_their_edx_state_and_can_queue_a_resync() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let address = domain::accounts::LegalAddress {
        first_name: "Ada".into(),
        last_name: "L".into(),
        country: "GB".into(),
        state: None,
    };
    let email = domain::accounts::Email::parse("ada@example.edu").unwrap();
    let username = domain::accounts::Username::parse("ada").unwrap();
    let new = store::accounts::NewUser {
        email: &email,
        username: &username,
        name: "Ada",
        password_hash: None,
        address: &address,
        email_verified: true,
        global_id: None,
    };
    let user = store::accounts::create_user(app.store.db(), new, Utc::now())
        .await
        .unwrap();
    store::openedx::record_error(
        app.store.db(),
        user.id,
        "Open edX unavailable: 503",
        Utc::now(),
    )
    .await
    .unwrap();
    let list = app.get("/staff/users/", Some(&cookie)).await;
    assert!(
        list.body.contains("ada@example.edu")
            && list
                .body
                .contains("not in Open edX: Open edX unavailable: 503")
    );
    let reply = app
        .post(
            &format!("/staff/users/{}/resync", user.id),
            Some(&cookie),
            &[],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let queued = jobs::admin::list(
        app.store.db(),
        Some("queued"),
        Some("openedx.create_user"),
        5,
    )
    .await
    .unwrap();
    assert_eq!(queued.len(), 1);
    assert_eq!(queued[0].payload["user_id"], user.id);
    let detail = app
        .get(reply.location.as_deref().unwrap(), Some(&cookie))
        .await;
    assert!(detail.body.contains("Re-sync queued."));
}

#[tokio::test]
async fn staff_create_a_code_and_a_batch_export_it_and_see_errors_by_field() {
    let app = app().await;
    let cookie = app.staff_cookie().await;
    let product = store::testing::count(&app.store, "SELECT MIN(id) AS n FROM products").await;
    let product = product.to_string();
    let one = [
        ("code", "SPRING10"),
        ("kind", "percent-off"),
        ("amount", "10"),
        ("redemption", "unlimited"),
        ("max_redemptions", "100"),
        ("activation", "2024-03-01"),
        ("expiration", "2030-12-31"),
        ("products", product.as_str()),
        ("payment_type", "marketing"),
    ];
    let reply = app.post("/staff/discounts/", Some(&cookie), &one).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let batch = [
        ("kind", "fixed-price"),
        ("amount", "0"),
        ("redemption", "one-time"),
        ("payment_type", "sales"),
        ("prefix", "ACME-"),
        ("count", "3"),
    ];
    let reply = app.post("/staff/discounts/", Some(&cookie), &batch).await;
    assert_eq!(
        reply.location.as_deref(),
        Some("/staff/discounts/?created=3")
    );
    let list = app
        .get(reply.location.as_deref().unwrap(), Some(&cookie))
        .await;
    assert!(list.body.contains("Created 3 discount(s)."));
    assert!(list.body.contains("SPRING10") && list.body.contains("10 % off"));
    assert!(list.body.contains("unlimited, at most 100"));
    let csv = app
        .get("/staff/discounts/export.csv?batch=ACME-", Some(&cookie))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    let rows: Vec<&str> = csv.body.lines().collect();
    assert_eq!(rows.len(), 4, "a header and three codes: {}", csv.body);
    assert!(
        rows[1].starts_with("ACME-") && rows[1].contains(",fixed-price,0.00,one-time,"),
        "{}",
        rows[1]
    );

    let bad = [
        ("code", "SPRING10"),
        ("kind", "percent-off"),
        ("amount", "150"),
        ("redemption", "sometimes"),
        ("products", "999999"),
        ("expiration", "2020-01-01"),
    ];
    let reply = app.post("/staff/discounts/", Some(&cookie), &bad).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for message in [
        "a percent-off discount is at most 100",
        "is not a redemption type",
        "there is no product 999999",
        "is in the past",
    ] {
        assert!(reply.body.contains(message), "{message}: {}", reply.body);
    }
    assert!(reply.body.contains("value=\"150\""), "typed values stay");
    let taken = [
        ("code", "SPRING10"),
        ("kind", "dollars-off"),
        ("amount", "5"),
    ];
    let reply = app.post("/staff/discounts/", Some(&cookie), &taken).await;
    assert!(reply.body.contains("is taken"), "{}", reply.body);
    assert_eq!(
        store::testing::count(&app.store, "SELECT COUNT(*) AS n FROM discounts").await,
        4,
        "nothing half-written"
    );
    let orders = app
        .get("/staff/orders/?state=fulfilled", Some(&cookie))
        .await;
    assert_eq!(orders.status, StatusCode::OK);
    assert!(orders.body.contains("No orders match."));
}
