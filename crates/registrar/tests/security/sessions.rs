//! Redirects, sign-in limits and sessions: `next=` never leaves the site, a stranger cannot
//! lock an owner out, the limits survive a restart, the staff area's cookie is a session
//! that ends, and the checkout GET is not a cross-site link.

use axum::http::{Method, StatusCode, header};
use domain::accounts::Password;

use crate::app::{App, CSRF, app};

const PASSWORD: &str = "correct horse battery staple";
const FORM: &str = "application/x-www-form-urlencoded";

async fn with_password(app: &App) -> String {
    let hash = services::accounts::hash_password(&Password::parse(PASSWORD).unwrap());
    store::accounts::update(app.store.db(), app.learner.clone(), |u| {
        u.password_hash = sea_orm::Set(Some(hash));
    })
    .await
    .unwrap();
    app.learner.email.clone()
}

fn csrf_cookie() -> Vec<(header::HeaderName, String)> {
    vec![(header::COOKIE, format!("registrar_csrf={CSRF}"))]
}

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn sign_in(
    app: &App,
    from: &str,
    email: &str,
    password: &str,
    next: &str,
) -> crate::app::Reply {
    app.request(
        from,
        &csrf_cookie(),
        &Method::POST,
        &format!("/signin?next={next}"),
        Some((
            FORM,
            format!(
                "csrf={CSRF}&email={}&password={}",
                encode(email),
                encode(password)
            ),
        )),
    )
    .await
}

#[tokio::test]
async fn next_after_sign_in_never_leaves_the_site() {
    let app = app().await;
    let email = with_password(&app).await;
    for (next, expected) in [
        ("/orders/", "/orders/"),
        ("%2Fcart%2F%3Fx%3D1", "/cart/?x=1"),
        ("/%09/evil.example", "/dashboard"),
        ("%2F%09%2Fevil.example", "/dashboard"),
        ("//evil.example", "/dashboard"),
        ("%2F%2Fevil.example", "/dashboard"),
        ("%5C%5Cevil.example", "/dashboard"),
        ("%2F%5Cevil.example", "/dashboard"),
        ("https://evil.example/", "/dashboard"),
        ("http://registrar.test.evil.example/", "/dashboard"),
        ("http://registrar.test@evil.example/", "/dashboard"),
        ("javascript:alert(1)", "/dashboard"),
        ("%2F%0D%0ASet-Cookie:%20x=1", "/dashboard"),
        ("/%0d%0aLocation:%20https://evil.example", "/dashboard"),
    ] {
        let reply = sign_in(&app, "192.0.2.10", &email, PASSWORD, next).await;
        assert_eq!(
            reply.status,
            StatusCode::SEE_OTHER,
            "next={next}: {}",
            reply.body
        );
        assert_eq!(reply.location.as_deref(), Some(expected), "next={next}");
    }
}

#[tokio::test]
async fn a_stranger_cannot_lock_the_owner_out_and_the_limit_outlives_a_restart() {
    let app = app().await;
    let email = with_password(&app).await;
    let stranger = "203.0.113.66";
    for _ in 0..services::accounts::PER_SOURCE {
        let reply = sign_in(&app, stranger, &email, "wrong guess", "/").await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST);
    }
    let reply = sign_in(&app, stranger, &email, PASSWORD, "/").await;
    assert_eq!(
        reply.status,
        StatusCode::TOO_MANY_REQUESTS,
        "the stranger's address is stopped, even with the right password"
    );
    assert!(
        reply.body.contains("Too many failed attempts"),
        "{}",
        reply.body
    );
    let owner = sign_in(&app, "198.51.100.7", &email, PASSWORD, "/").await;
    assert_eq!(
        owner.status,
        StatusCode::SEE_OTHER,
        "the owner, elsewhere, gets in"
    );

    // A restart (a new router over the same database) remembers the stranger's failures.
    let restarted = App {
        router: web::router(web::AppState::new(
            app.store.clone(),
            crate::app::settings(),
            web::system_clock(),
        )),
        store: app.store.clone(),
        learner: app.learner.clone(),
        identities: Vec::new(),
    };
    let reply = sign_in(&restarted, stranger, &email, PASSWORD, "/").await;
    assert_eq!(reply.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn many_addresses_guessing_lock_the_account_softly() {
    let app = app().await;
    let email = with_password(&app).await;
    // The owner signed in from home before.
    assert_eq!(
        sign_in(&app, "198.51.100.7", &email, PASSWORD, "/")
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    for i in 0..services::accounts::PER_ACCOUNT {
        let from = format!("203.0.113.{}", i % 200);
        sign_in(&app, &from, &email, "wrong guess", "/").await;
    }
    let fresh = sign_in(&app, "192.0.2.200", &email, PASSWORD, "/").await;
    assert_eq!(
        fresh.status,
        StatusCode::TOO_MANY_REQUESTS,
        "an address never seen for this account waits"
    );
    let home = sign_in(&app, "198.51.100.7", &email, PASSWORD, "/").await;
    assert_eq!(
        home.status,
        StatusCode::SEE_OTHER,
        "the owner's own address still works"
    );
}

fn staff_cookie_of(reply: &crate::app::Reply) -> String {
    reply
        .cookies
        .iter()
        .find(|c| c.starts_with("registrar_staff="))
        .expect("a staff cookie")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn the_staff_area_runs_on_a_session_that_expires_and_ends_at_sign_out() {
    let app = app().await;
    let token = store::staff::create_token(app.store.db(), "ops@example.edu")
        .await
        .unwrap();
    let reply = app
        .request(
            "192.0.2.1",
            &csrf_cookie(),
            &Method::POST,
            "/staff/sign-in",
            Some((FORM, format!("csrf={CSRF}&token={token}"))),
        )
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
    let full = reply
        .cookies
        .iter()
        .find(|c| c.starts_with("registrar_staff="))
        .unwrap()
        .clone();
    assert!(full.contains("Max-Age="), "the cookie expires: {full}");
    let cookie = staff_cookie_of(&reply);
    assert!(!cookie.contains(&token), "the cookie is not the API token");
    let as_staff = vec![(header::COOKIE, format!("{cookie}; registrar_csrf={CSRF}"))];
    let home = app
        .request("192.0.2.1", &as_staff, &Method::GET, "/staff/orders/", None)
        .await;
    assert_eq!(home.status, StatusCode::OK);

    // The token itself as the cookie is not a session.
    let forged = vec![(header::COOKIE, format!("registrar_staff={token}"))];
    let refused = app
        .request("192.0.2.1", &forged, &Method::GET, "/staff/orders/", None)
        .await;
    assert_eq!(refused.status, StatusCode::SEE_OTHER);

    let out = app
        .request(
            "192.0.2.1",
            &as_staff,
            &Method::POST,
            "/staff/sign-out",
            Some((FORM, format!("csrf={CSRF}"))),
        )
        .await;
    assert!(out.status.is_redirection());
    let after = app
        .request("192.0.2.1", &as_staff, &Method::GET, "/staff/orders/", None)
        .await;
    assert_eq!(
        after.status,
        StatusCode::SEE_OTHER,
        "signed out: the session is gone"
    );

    // A session past its time is refused.
    let old = store::staff::start_session(
        app.store.db(),
        "ops@example.edu",
        chrono::Duration::hours(8),
        chrono::Utc::now() - chrono::Duration::hours(9),
    )
    .await
    .unwrap();
    let expired = vec![(header::COOKIE, format!("registrar_staff={old}"))];
    let reply = app
        .request("192.0.2.1", &expired, &Method::GET, "/staff/orders/", None)
        .await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER);
}

/// `GET /api/v0/baskets/checkout/` creates orders (and fulfils free ones): a link or an
/// image on another site must not do that with the learner's cookie.
#[tokio::test]
async fn the_checkout_get_needs_the_csrf_header_or_a_same_origin_fetch() {
    let app = app().await;
    let session = app.identities[1].1[0].1.clone();
    let cookie_only = vec![(header::COOKIE, session.clone())];
    let cross_site = vec![
        (header::COOKIE, session.clone()),
        (
            header::HeaderName::from_static("sec-fetch-site"),
            "cross-site".into(),
        ),
    ];
    for headers in [&cookie_only, &cross_site] {
        let (status, _) = app
            .send(headers, &Method::GET, "/api/v0/baskets/checkout/", None)
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }
    let same_origin = vec![
        (header::COOKIE, session.clone()),
        (
            header::HeaderName::from_static("sec-fetch-site"),
            "same-origin".into(),
        ),
    ];
    let with_header = app.identities[1].1.clone();
    for headers in [&same_origin, &with_header] {
        let (status, body) = app
            .send(headers, &Method::GET, "/api/v0/baskets/checkout/", None)
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body.contains("basket-empty"), "{body}");
    }
}

/// Guesses sent all at once cannot all slip under the limit: each counts before it is
/// checked.
#[tokio::test]
async fn parallel_guesses_from_one_address_get_no_more_than_the_limit() {
    let app = app().await;
    let email = with_password(&app).await;
    let guesses = futures::future::join_all(
        (0..12).map(|_| sign_in(&app, "203.0.113.5", &email, "wrong guess", "/")),
    )
    .await;
    let checked = guesses
        .iter()
        .filter(|r| r.status == StatusCode::BAD_REQUEST)
        .count();
    assert!(
        checked as i64 <= services::accounts::PER_SOURCE,
        "{checked} guesses were checked"
    );
    assert!(
        guesses
            .iter()
            .all(|r| r.status != StatusCode::INTERNAL_SERVER_ERROR)
    );
}

/// Every staff change, on every staff route, is refused when the browser says it comes
/// from another site (before, 6 of 23 staff post routes checked).
#[tokio::test]
async fn staff_changes_from_another_site_are_refused_on_every_staff_route() {
    let app = app().await;
    let mut staff = app.identities[2].1.clone();
    staff.push((header::ORIGIN, "https://evil.example".into()));
    let mut refused = 0;
    for route in crate::routes::declared_routes() {
        if !route.path.starts_with("/staff/") {
            continue;
        }
        for method in route.methods.iter().filter(|m| **m != Method::GET) {
            let uri = crate::routes::fill(&route.path, "1");
            let reply = app
                .request(
                    "192.0.2.1",
                    &staff,
                    method,
                    &uri,
                    Some((FORM, format!("csrf={CSRF}"))),
                )
                .await;
            assert_eq!(reply.status, StatusCode::FORBIDDEN, "{method} {uri}");
            refused += 1;
        }
    }
    assert!(refused > 20, "the staff post routes were found: {refused}");
}
