//! What the router tests share: settings, importing the recorded catalogs, and a
//! browser-like driver for the router.
// Each test binary uses some of these helpers, not all.
#![allow(dead_code)]

use std::time::Duration;

use axum::body::Body;
use axum::http::{HeaderValue, Request, StatusCode, header};
use domain::catalog::import::parse;
use http_body_util::BodyExt;
use store::Store;
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

/// The token `/metrics` asks for in these tests.
pub const METRICS_TOKEN: &str = "metrics-token";

/// Test settings: no provisioning, no gateway, no outbox page; a long catalog refresh so
/// each test's own writes are what invalidate the cache.
pub fn settings(base_url: &str) -> web::Settings {
    web::Settings {
        base_url: base_url.to_string(),
        catalog_refresh: Duration::from_secs(60),
        schedules: services::schedules::for_this_build(&Default::default()).unwrap(),
        mail_outbox: None,
        onboarding: services::accounts::Onboarding {
            provision_openedx: false,
            screen_exports: false,
        },
        gateway_proxies: Vec::new(),
        recaptcha: None,
        vendors: None,
        sheets: None,
        mail_events_key: None,
        metrics_token: Some(METRICS_TOKEN.into()),
        storefront: None,
    }
}

/// Imports recorded payloads of the originals (`fixtures/originals/NAME`).
pub async fn import(store: &Store, names: &[&str]) {
    for name in names {
        let path = format!(
            "{}/../../fixtures/originals/{name}",
            env!("CARGO_MANIFEST_DIR")
        );
        let (_, catalog) =
            parse(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}")))
                .unwrap();
        let txn = store.write().await.unwrap();
        apply(&txn, &catalog, Mode::Import).await.unwrap();
        txn.commit().await.unwrap();
    }
}

/// The CSRF token the browser-like helpers send, as cookie and as form field.
pub const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The full router and its database, driven as a browser would.
pub struct App {
    pub router: axum::Router,
    pub store: Store,
}

pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub cookie: Option<String>,
    pub body: String,
}

impl App {
    /// The full router on a fresh database, with these settings and the system clock.
    pub async fn with(settings: web::Settings) -> App {
        let store = store::testing::fresh_store().await;
        App {
            router: web::router(web::AppState::new(
                store.clone(),
                settings,
                std::sync::Arc::new(chrono::Utc::now),
            )),
            store,
        }
    }

    /// The full router on this database, with the given base URL and a clock stopped at `now`.
    pub fn at(store: &Store, base_url: &str, now: chrono::DateTime<chrono::Utc>) -> App {
        App {
            router: web::router(web::AppState::new(
                store.clone(),
                settings(base_url),
                std::sync::Arc::new(move || now),
            )),
            store: store.clone(),
        }
    }

    /// Signs a staff member in with a fresh token; the session cookie to send.
    pub async fn staff_cookie(&self) -> String {
        let token = store::staff::create_token(self.store.db(), "staff@example.edu")
            .await
            .unwrap();
        let reply = self
            .post("/staff/sign-in", None, &[("token", &token)])
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER);
        let cookie = reply.cookie.expect("a session cookie");
        assert!(cookie.starts_with("registrar_staff="), "{cookie}");
        assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
        cookie.split(';').next().unwrap().to_string()
    }

    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .map(|v: &HeaderValue| v.to_str().unwrap().to_string())
        };
        let (status, location, cookie) = (
            response.status(),
            header(header::LOCATION),
            header(header::SET_COOKIE),
        );
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        Reply {
            status,
            location,
            cookie,
            body: String::from_utf8(bytes.to_vec()).unwrap(),
        }
    }

    pub async fn get(&self, uri: &str, cookie: Option<&str>) -> Reply {
        let mut request = Request::get(uri);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, cookie);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    /// Posts a form as a browser would: with the CSRF cookie and the same token in the form.
    pub async fn post(&self, uri: &str, cookie: Option<&str>, form: &[(&str, &str)]) -> Reply {
        let fields = form
            .iter()
            .filter(|(name, _)| *name != "csrf")
            .chain([&("csrf", CSRF)]);
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(fields)
            .finish();
        let cookies = match cookie {
            Some(cookie) => format!("{cookie}; registrar_csrf={CSRF}"),
            None => format!("registrar_csrf={CSRF}"),
        };
        let request = Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::HOST, "registrar.test")
            .header(header::COOKIE, cookies);
        self.send(request.body(Body::from(body)).unwrap()).await
    }
}

/// An account `name@example.edu` (staff when `staff`), without a legal address.
pub async fn account(store: &Store, name: &str, staff: bool) -> store::accounts::User {
    let user = store::accounts::create_user(
        store.db(),
        store::accounts::NewUser {
            email: &domain::accounts::Email::parse(&format!("{name}@example.edu")).unwrap(),
            username: &domain::accounts::Username::parse(name).unwrap(),
            name,
            password_hash: None,
            address: &Default::default(),
            email_verified: true,
            global_id: None,
        },
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    if !staff {
        return user;
    }
    store::accounts::update(store.db(), user, |u| u.is_staff = sea_orm::Set(true))
        .await
        .unwrap()
}

/// A coupon request of one code for the first xPRO program on sale (the xPRO programs
/// imported), created as `source` made it.
pub async fn coupon_request(
    store: &Store,
    source: store::commerce::coupon_requests::Source,
) -> store::commerce::coupon_requests::CouponRequest {
    import(store, &["xpro_programs.json"]).await;
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let txn = store.write().await.unwrap();
    let request = services::coupon_requests::create_in(
        &txn,
        &view,
        &services::coupon_requests::RequestForm {
            name: "acme".into(),
            purchase_order: "PO-1".into(),
            company: "Acme".into(),
            num_codes: "1".into(),
            product: program_on_sale(&view),
            ..Default::default()
        },
        source,
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    request
}

/// The readable id of the first live program with a product on sale.
pub fn program_on_sale(view: &store::catalog::read::CatalogView) -> String {
    view.programs
        .iter()
        .find(|p| p.live && p.product.as_ref().is_some_and(|p| p.is_active))
        .expect("a program on sale")
        .readable_id
        .clone()
}
