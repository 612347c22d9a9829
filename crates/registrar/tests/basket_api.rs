//! The basket and checkout APIs of both references through the full router, on the demo's
//! synthetic catalog: shapes, errors, CSRF, and the signed checkout payload.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Utc;
use domain::accounts::{Email, LegalAddress, Username};
use http_body_util::BodyExt;
use serde_json::{Value, json};
use services::commerce::{Processor, Storefront};
use store::catalog::write::{Mode, apply};
use tower::ServiceExt;

const CSRF: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

struct Api {
    router: axum::Router,
    cookie: String,
    on_sale: Vec<(i64, String)>,
}

async fn api() -> Api {
    let store = store::testing::fresh_store().await;
    let now = Utc::now();
    let txn = store.write().await.unwrap();
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, 24, 2),
        Mode::Strict,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    let on_sale: Vec<(i64, String)> = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .filter_map(|r| r.product.as_ref().map(|p| (p.id, r.courseware_id.clone())))
        .filter(|(id, _)| {
            services::commerce::item(&view, *id).is_some_and(|item| {
                services::commerce::basket::sale_blocker(&view, &item, now).is_none()
            })
        })
        .collect();
    let user = store::accounts::create_user(
        store.db(),
        store::accounts::NewUser {
            email: &Email::parse("ada@example.edu").unwrap(),
            username: &Username::parse("ada").unwrap(),
            name: "Ada",
            password_hash: None,
            address: &LegalAddress {
                first_name: "Ada".into(),
                last_name: "L".into(),
                country: "US".into(),
                state: Some("US-MA".into()),
            },
            email_verified: true,
            global_id: None,
        },
        now,
    )
    .await
    .unwrap();
    let session =
        store::accounts::start_session(store.db(), user.id, chrono::Duration::hours(1), now)
            .await
            .unwrap();
    let state = web::AppState::new(
        store,
        web::Settings {
            base_url: "http://registrar.test".into(),
            catalog_refresh: Duration::from_secs(60),
            schedules: services::schedules::for_this_build(&Default::default()).unwrap(),
            mail_outbox: None,
            onboarding: Default::default(),
            gateway_proxies: Vec::new(),
            recaptcha: None,
            storefront: Some(Storefront {
                base_url: "http://registrar.test".into(),
                reference_prefix: "registrar".into(),
                environment: "test".into(),
                currency: "USD".into(),
                processor: Processor {
                    url: "http://pay.test/pay".into(),
                    access_key: "access".into(),
                    profile_id: "profile".into(),
                    secret_key: "security".into(),
                },
                refunds: None,
                support_email: None,
            }),
        },
        web::system_clock(),
    );
    Api {
        router: web::router(state),
        cookie: format!("registrar_session={session}; registrar_csrf={CSRF}"),
        on_sale,
    }
}

impl Api {
    async fn call(
        &self,
        method: &str,
        uri: &str,
        body: Option<Value>,
        csrf: bool,
    ) -> (StatusCode, Value) {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::COOKIE, &self.cookie)
            .header(header::CONTENT_TYPE, "application/json");
        if csrf {
            request = request.header("x-csrftoken", CSRF);
        }
        let body = body
            .map(|b| Body::from(b.to_string()))
            .unwrap_or_else(Body::empty);
        let response = self
            .router
            .clone()
            .oneshot(request.body(body).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }
}

#[tokio::test]
async fn xpro_basket_patch_and_checkout() {
    let api = api().await;
    let (product, courseware_id) = api.on_sale[0].clone();
    let (status, empty) = api.call("GET", "/api/basket/", None, false).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(empty["items"], json!([]));
    let patch = json!({"items": [{"product_id": courseware_id}]});
    let (status, _) = api
        .call("PATCH", "/api/basket/", Some(patch.clone()), false)
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "a change needs X-CSRFToken");
    let (status, basket) = api.call("PATCH", "/api/basket/", Some(patch), true).await;
    assert_eq!(status, StatusCode::OK, "{basket}");
    assert_eq!(
        basket["items"][0]["product_id"], product,
        "a text id finds the product"
    );
    assert_eq!(basket["items"][0]["type"], "courserun");
    assert_eq!(basket["tax_info"]["active"], false);
    let two = json!({"items": [{"product_id": product}, {"product_id": api.on_sale[1].0}]});
    let (status, errors) = api.call("PATCH", "/api/basket/", Some(two), true).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors["errors"]["items"][0],
        "Basket cannot contain more than one item"
    );
    let (status, errors) = api
        .call(
            "PATCH",
            "/api/basket/",
            Some(json!({"coupons": [{"code": "NOPE"}]})),
            true,
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        errors["errors"]["coupons"][0],
        "Enrollment / Promotional Code 'NOPE' is invalid"
    );
    let (status, checkout) = api.call("POST", "/api/checkout/", None, true).await;
    assert_eq!(status, StatusCode::OK, "{checkout}");
    assert_eq!(checkout["method"], "POST");
    assert_eq!(checkout["url"], "http://pay.test/pay");
    let form: std::collections::HashMap<String, String> = checkout["payload"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(
        integrations::cybersource::secure_acceptance::verify("security", &form),
        Ok(())
    );
    assert_eq!(form["merchant_defined_data2"], courseware_id);
}

#[tokio::test]
async fn mitxonline_baskets_and_checkout_payload() {
    let api = api().await;
    let (status, none) = api.call("GET", "/api/v0/baskets/", None, false).await;
    assert_eq!((status, none), (StatusCode::OK, json!([])));
    let (status, refused) = api
        .call("GET", "/api/v0/baskets/checkout/", None, false)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "basket-empty");
    let product = api.on_sale[0].0;
    let (status, basket) = api
        .call(
            "POST",
            &format!("/api/v0/baskets/create_from_product/{product}/"),
            None,
            true,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{basket}");
    assert_eq!(basket["basket_items"][0]["product"]["id"], product);
    assert_eq!(basket["total_price"], basket["discounted_price"]);
    let (status, payload) = api
        .call("GET", "/api/v0/baskets/checkout/", None, false)
        .await;
    assert_eq!(status, StatusCode::OK, "{payload}");
    assert_eq!(payload["no_checkout"], false);
    assert_eq!(payload["method"], "POST");
    assert!(payload["order_id"].as_i64().unwrap() > 0);
    assert!(payload["payload"]["signature"].is_string());
    let (status, _) = api
        .call("DELETE", "/api/v0/baskets/clear/", None, true)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (_, after) = api.call("GET", "/api/v0/baskets/", None, false).await;
    assert_eq!(after, json!([]));
}
