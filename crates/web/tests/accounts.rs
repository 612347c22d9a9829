//! Learner accounts through the full router: sign-up, verification, sign-in, reset, profile,
//! and the guards (CSRF, rate limits).

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};

use common::{App, CSRF};

async fn app() -> App {
    App::with(common::settings("http://registrar.test")).await
}

impl App {
    /// The link in the newest queued mail to `to`.
    async fn mailed_link(&self, to: &str, path: &str) -> String {
        let mails = jobs::admin::list(self.store.db(), None, Some("mail.send"), 50)
            .await
            .unwrap();
        let mail = mails
            .iter()
            .find(|m| m.payload["to"] == to)
            .unwrap_or_else(|| panic!("no mail to {to}: {mails:?}"));
        let text = mail.payload["text"].as_str().unwrap();
        let start = text
            .find(path)
            .unwrap_or_else(|| panic!("no {path} link in {text}"));
        text[start..].split_whitespace().next().unwrap().to_string()
    }
}

fn signup_form<'a>(email: &'a str, username: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("email", email),
        ("name", "Ada Lovelace"),
        ("username", username),
        ("password", "analytical engine"),
        ("first_name", "Ada"),
        ("last_name", "Lovelace"),
        ("country", "US"),
        ("state", "US-MA"),
    ]
}

async fn signed_up_and_verified(app: &App, email: &str, username: &str) -> String {
    let reply = app
        .post("/signup", None, &signup_form(email, username))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let link = app.mailed_link(email, "/verify/").await;
    assert!(app.get(&link, None).await.body.contains("Email confirmed"));
    let reply = app
        .post(
            "/signin",
            None,
            &[("email", email), ("password", "analytical engine")],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    let cookie = reply.cookie.unwrap();
    cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn sign_up_verify_sign_in_and_out() {
    let app = app().await;
    let reply = app
        .post("/signup", None, &signup_form("ada@example.edu", "ada"))
        .await;
    assert!(reply.body.contains("Check your email"));
    let early = app
        .post(
            "/signin",
            None,
            &[
                ("email", "ada@example.edu"),
                ("password", "analytical engine"),
            ],
        )
        .await;
    assert_eq!(early.status, StatusCode::BAD_REQUEST);
    assert!(early.body.contains("Confirm your email address first"));
    let link = app.mailed_link("ada@example.edu", "/verify/").await;
    let path = link.trim_start_matches("http://registrar.test");
    assert!(app.get(path, None).await.body.contains("Email confirmed"));
    assert_eq!(
        app.get(path, None).await.status,
        StatusCode::BAD_REQUEST,
        "a link works once"
    );
    let reply = app
        .post(
            "/signin",
            None,
            &[
                ("email", "ADA@example.edu"),
                ("password", "analytical engine"),
            ],
        )
        .await;
    assert_eq!(reply.location.as_deref(), Some("/dashboard"));
    let cookie = reply.cookie.unwrap();
    assert!(cookie.contains("HttpOnly"));
    let session = cookie.split(';').next().unwrap();
    let dashboard = app.get("/dashboard", Some(session)).await;
    assert!(
        dashboard
            .body
            .contains("Signed in as <strong>ada@example.edu</strong>")
    );
    app.post("/signout", Some(session), &[]).await;
    assert_eq!(
        app.get("/dashboard", Some(session))
            .await
            .location
            .as_deref(),
        Some("/signin"),
        "the session ended"
    );
}

#[tokio::test]
async fn sign_up_checks_fields_keeps_values_and_refuses_blocked_addresses() {
    let app = app().await;
    let mut form = signup_form("not-an-email", "a");
    form.retain(|(k, _)| *k != "state");
    let reply = app.post("/signup", None, &form).await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    for message in [
        "is not an email address",
        "must be 3 to 30 characters",
        "required for the United States and Canada",
    ] {
        assert!(reply.body.contains(message), "{message}");
    }
    assert!(
        reply.body.contains("value=\"not-an-email\""),
        "typed values stay"
    );
    assert!(
        !reply.body.contains("analytical engine"),
        "the password is never echoed"
    );
    store::accounts::block(app.store.db(), "@spam.example")
        .await
        .unwrap();
    let reply = app
        .post("/signup", None, &signup_form("x@spam.example", "spammer"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("cannot be used to register"));
    signed_up_and_verified(&app, "grace@example.edu", "grace").await;
    let reply = app
        .post("/signup", None, &signup_form("grace@example.edu", "grace2"))
        .await;
    assert!(reply.body.contains("already exists"));
}

#[tokio::test]
async fn wrong_passwords_are_rate_limited() {
    let app = app().await;
    signed_up_and_verified(&app, "ada@example.edu", "ada").await;
    for _ in 0..5 {
        let reply = app
            .post(
                "/signin",
                None,
                &[("email", "ada@example.edu"), ("password", "wrong password")],
            )
            .await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    let reply = app
        .post(
            "/signin",
            None,
            &[
                ("email", "ada@example.edu"),
                ("password", "analytical engine"),
            ],
        )
        .await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "even the right password waits"
    );
    assert!(reply.body.contains("Too many failed attempts"));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused() {
    let app = app().await;
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(signup_form("ada@example.edu", "ada"))
        .finish();
    let request = Request::post("/signup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(body.clone()))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    let wrong =
        format!("{body}&csrf=0000000000000000000000000000000000000000000000000000000000000000");
    let request = Request::post("/signup")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::COOKIE, format!("registrar_csrf={CSRF}"))
        .body(Body::from(wrong))
        .unwrap();
    assert_eq!(app.send(request).await.status, StatusCode::FORBIDDEN);
    assert!(
        store::accounts::find_by_email(
            app.store.db(),
            &domain::accounts::Email::parse("ada@example.edu").unwrap()
        )
        .await
        .unwrap()
        .is_none()
    );
    let page = app.get("/signup", None).await;
    assert!(
        page.cookie.unwrap().starts_with("registrar_csrf="),
        "a page hands out the token"
    );
    assert!(page.body.contains("name=\"csrf\""));
}

#[tokio::test]
async fn password_reset_signs_out_everywhere() {
    let app = app().await;
    let session = signed_up_and_verified(&app, "ada@example.edu", "ada").await;
    let reply = app
        .post("/reset", None, &[("email", "ada@example.edu")])
        .await;
    assert!(reply.body.contains("If an account uses this address"));
    let unknown = app
        .post("/reset", None, &[("email", "nobody@example.edu")])
        .await;
    assert_eq!(
        unknown.body.replace("nobody", ""),
        unknown.body,
        "the same answer for unknown addresses"
    );
    let link = app.mailed_link("ada@example.edu", "/reset/").await;
    let path = link.trim_start_matches("http://registrar.test");
    let weak = app.post(path, None, &[("password", "short")]).await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    let done = app
        .post(path, None, &[("password", "difference engine")])
        .await;
    assert!(done.body.contains("Password changed"), "{}", done.body);
    assert_eq!(
        app.get("/dashboard", Some(&session))
            .await
            .location
            .as_deref(),
        Some("/signin")
    );
    let reply = app
        .post(
            "/signin",
            None,
            &[
                ("email", "ada@example.edu"),
                ("password", "difference engine"),
            ],
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn profile_address_and_change_of_email() {
    let app = app().await;
    let session = signed_up_and_verified(&app, "ada@example.edu", "ada").await;
    let page = app.get("/profile", Some(&session)).await;
    assert!(page.body.contains("value=\"Lovelace\""));
    let bad = app
        .post(
            "/profile",
            Some(&session),
            &[
                ("name", "Ada"),
                ("first_name", "Ada"),
                ("last_name", "Lovelace"),
                ("country", "CA"),
                ("state", ""),
            ],
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(
        bad.body
            .contains("required for the United States and Canada")
    );
    let good = app
        .post(
            "/profile",
            Some(&session),
            &[
                ("name", "Ada King"),
                ("first_name", "Ada"),
                ("last_name", "King"),
                ("country", "CA"),
                ("state", "CA-ON"),
                ("email", "countess@example.edu"),
            ],
        )
        .await;
    assert_eq!(good.status, StatusCode::OK, "{}", good.body);
    assert!(good.body.contains("Confirm your new email address"));
    let link = app
        .mailed_link("countess@example.edu", "/change-email/")
        .await;
    let changed = app
        .get(link.trim_start_matches("http://registrar.test"), None)
        .await;
    assert!(
        changed
            .body
            .contains("Your account now uses countess@example.edu")
    );
    let dashboard = app.get("/dashboard", Some(&session)).await;
    assert!(dashboard.body.contains("countess@example.edu"));
}

#[tokio::test]
async fn sign_up_needs_the_robot_check_when_it_is_configured() {
    let store = store::testing::fresh_store().await;
    let url = format!(
        "{}/recaptcha/api/siteverify",
        simulators::serve(simulators::recaptcha::router()).await
    );
    let verifier = integrations::recaptcha::Recaptcha::new(integrations::recaptcha::Config {
        verify_url: url,
        secret: simulators::recaptcha::SECRET.into(),
    });
    let settings = web::Settings {
        recaptcha: Some(web::Recaptcha {
            verifier: Arc::new(verifier),
            site_key: simulators::recaptcha::SITE_KEY.into(),
            simulated: true,
        }),
        ..common::settings("http://registrar.test")
    };
    let app = App {
        router: web::router(web::AppState::new(
            store.clone(),
            settings,
            Arc::new(chrono::Utc::now),
        )),
        store,
    };
    let page = app.get("/signup", None).await;
    assert!(page.body.contains("I am not a robot"));
    let reply = app
        .post("/signup", None, &signup_form("ada@example.edu", "ada"))
        .await;
    assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    assert!(reply.body.contains("please confirm you are not a robot"));
    let mut form = signup_form("ada@example.edu", "ada");
    form.push(("g-recaptcha-response", "pass"));
    let reply = app.post("/signup", None, &form).await;
    assert!(reply.body.contains("Check your email"), "{}", reply.body);
}

#[tokio::test]
async fn a_screened_account_signs_in_only_once_cleared_and_staff_can_clear_a_denial() {
    let mut settings = common::settings("http://registrar.test");
    settings.onboarding.screen_exports = true;
    let app = App::with(settings).await;
    let reply = app
        .post("/signup", None, &signup_form("eve@example.edu", "eve"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let link = app.mailed_link("eve@example.edu", "/verify/").await;
    app.get(&link, None).await;
    let sign_in = || {
        app.post(
            "/signin",
            None,
            &[
                ("email", "eve@example.edu"),
                ("password", "analytical engine"),
            ],
        )
    };
    let reply = sign_in().await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(reply.body.contains("being reviewed"), "{}", reply.body);
    let user = store::accounts::find_by_email(
        app.store.db(),
        &domain::accounts::Email::parse("eve@example.edu").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    let queued = jobs::admin::list(app.store.db(), None, Some("compliance.screen_user"), 5)
        .await
        .unwrap();
    assert_eq!(queued.len(), 1, "the screening is queued with the account");
    store::compliance::record(
        app.store.db(),
        &store::compliance::NewInquiry {
            user_id: user.id,
            computed_result: domain::compliance::ComputedResult::Denied,
            reason_code: 700,
            info_code: Some("MATCH-DPC"),
            encrypted_request: "sealed",
            encrypted_response: "sealed",
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let reply = sign_in().await;
    assert_eq!(reply.status, StatusCode::FORBIDDEN);
    assert!(
        reply.body.contains("cannot create an account"),
        "{}",
        reply.body
    );

    let staff = app.staff_cookie().await;
    let page = format!("/staff/users/{}", user.id);
    let detail = app.get(&page, Some(&staff)).await;
    assert!(detail.body.contains("the screening denied this account"));
    assert!(
        detail
            .body
            .contains("DENIED · reason 700 · info code MATCH-DPC")
    );
    let approve = format!("/staff/users/{}/approve", user.id);
    let reply = app.post(&approve, Some(&staff), &[]).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let detail = app
        .get(reply.location.as_deref().unwrap(), Some(&staff))
        .await;
    assert!(detail.body.contains("Approved manually"));
    assert!(detail.body.contains("MANUALLY_APPROVED"));
    assert!(!detail.body.contains("Approve manually and activate"));
    assert_eq!(
        sign_in().await.status,
        StatusCode::SEE_OTHER,
        "cleared: signs in"
    );
    assert_eq!(
        app.post(&approve, Some(&staff), &[]).await.status,
        StatusCode::CONFLICT,
        "nothing left to approve"
    );
}

#[tokio::test]
async fn an_account_marked_staff_uses_the_staff_area_and_signing_out_there_ends_its_session() {
    let app = app().await;
    let cookie = signed_up_and_verified(&app, "grace@example.edu", "grace").await;
    let users = app.get("/staff/users/", Some(&cookie)).await;
    assert_eq!(
        users.status,
        StatusCode::SEE_OTHER,
        "a learner is not staff"
    );
    assert_eq!(users.location.as_deref(), Some("/staff/"));
    let user = store::accounts::find_by_email(
        app.store.db(),
        &domain::accounts::Email::parse("grace@example.edu").unwrap(),
    )
    .await
    .unwrap()
    .unwrap();
    store::accounts::update(app.store.db(), user, |u| u.is_staff = sea_orm::Set(true))
        .await
        .unwrap();
    let users = app.get("/staff/users/", Some(&cookie)).await;
    assert_eq!(users.status, StatusCode::OK);
    assert!(users.body.contains("grace@example.edu"));
    let out = app.post("/staff/sign-out", Some(&cookie), &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location.as_deref(), Some("/staff/"));
    assert_eq!(
        app.get("/staff/users/", Some(&cookie)).await.status,
        StatusCode::SEE_OTHER,
        "the account session ended with the staff sign-out"
    );
}

#[tokio::test]
async fn sign_in_returns_to_the_page_that_asked_and_only_within_the_site() {
    let app = app().await;
    signed_up_and_verified(&app, "ada@example.edu", "ada").await;
    let form = [
        ("email", "ada@example.edu"),
        ("password", "analytical engine"),
    ];
    let page = app.get("/signin?next=%2Fcart%2F", None).await;
    assert!(page.body.contains("action=\"/signin?next=%2Fcart%2F\""));
    let reply = app.post("/signin?next=%2Fcart%2F", None, &form).await;
    assert_eq!(reply.location.as_deref(), Some("/cart/"));
    let reply = app
        .post("/signin?next=%2F%2Fevil.example%2F", None, &form)
        .await;
    assert_eq!(reply.location.as_deref(), Some("/dashboard"));
}
