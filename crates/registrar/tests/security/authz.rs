//! The cross-learner authorization matrix: a learner (Ada) has an order, an enrollment, a
//! refund request and a basket; another learner (Eve) and a stranger call every route the
//! web crate declares, with every id in the path set to each of Ada's (her order's id and
//! reference, her enrollments' and runs' ids, her user id), by every method, with the CSRF
//! token, as a form and as JSON. Nothing of Ada's is shown to them, and
//! nothing of hers changes.

use axum::http::{Method, StatusCode, header};
use domain::commerce::order::OrderState;
use services::commerce::payment::Channel;
use store::commerce::orders;

use crate::app::{App, CSRF, app};
use crate::common::shop::Shop;
use crate::routes::{declared_routes, fill};

/// What Ada owns, and the words that would give it away in a response.
struct Ada {
    order: orders::Order,
    markers: Vec<String>,
}

async fn ada_with_everything(app: &App) -> Ada {
    let now = chrono::Utc::now();
    let view = store::catalog::read::load(app.store.db()).await.unwrap();
    let shop = Shop {
        store: app.store.clone(),
        view,
        now,
        front: crate::common::shop::storefront(),
    };
    let ada = app.learner.clone();
    let product = shop.on_sale()[0];
    shop.fill(&ada, product).await;
    let (_, request) = shop.pay(&ada).await;
    let order = shop
        .deliver(
            &shop.result(&request, "ACCEPT", "tx-ada"),
            Channel::Merchant,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(order.state, OrderState::Fulfilled);
    services::commerce::refunds::request(
        &app.store,
        ada.id,
        &services::commerce::refunds::Ask {
            order_id: order.id,
            reason: "financial_reasons",
            reason_text: "a private reason of Ada's",
            consent: true,
        },
        Some(&shop.front),
        now,
    )
    .await
    .unwrap();
    // What comes next on her list fills the basket again: it must stay hers.
    shop.fill(&ada, shop.on_sale()[1]).await;
    Ada {
        markers: vec![
            ada.email.clone(),
            order.reference_number.clone(),
            "a private reason of Ada's".to_string(),
        ],
        order,
    }
}

/// Ada's state, as compared before and after the sweep.
async fn snapshot(app: &App, ada: &Ada) -> String {
    let db = app.store.db();
    let order = orders::find(db, ada.order.id).await.unwrap().unwrap();
    let enrollments = store::enrollments::of_user(db, app.learner.id)
        .await
        .unwrap();
    let basket =
        store::commerce::baskets::find(db, &store::commerce::baskets::Owner::User(app.learner.id))
            .await
            .unwrap();
    let requests = store::commerce::refund_requests::pending_for(db, ada.order.id)
        .await
        .unwrap();
    let user = store::accounts::find(db, app.learner.id)
        .await
        .unwrap()
        .unwrap();
    let transactions = orders::transactions(db, ada.order.id).await.unwrap().len();
    format!(
        "{:?} {:?} {:?} {:?} {:?} {:?} {} {} {} {:?} {transactions}",
        order.state,
        order.flag,
        enrollments
            .iter()
            .map(|e| (
                e.run_id,
                e.active,
                e.mode.clone(),
                e.edx_emails_subscription
            ))
            .collect::<Vec<_>>(),
        basket.map(|b| (b.product_id, b.discount_id)),
        requests.map(|r| r.reason),
        user.is_active,
        user.email,
        user.name,
        store::enrollments::programs_of(db, app.learner.id)
            .await
            .unwrap()
            .len(),
        user.password_hash,
    )
}

#[tokio::test]
async fn another_learner_or_a_stranger_can_neither_see_nor_change_what_a_learner_owns() {
    let app = app().await;
    let ada = ada_with_everything(&app).await;
    let before = snapshot(&app, &ada).await;
    let eve = crate::common::learner(&app.store, "eve", chrono::Utc::now()).await;
    let session = store::accounts::start_session(
        app.store.db(),
        eve.id,
        chrono::Duration::hours(1),
        chrono::Utc::now(),
    )
    .await
    .unwrap();
    let callers = [
        (
            "another learner",
            vec![
                (
                    header::COOKIE,
                    format!("registrar_session={session}; registrar_csrf={CSRF}"),
                ),
                (
                    header::HeaderName::from_static("x-csrftoken"),
                    CSRF.to_string(),
                ),
            ],
        ),
        ("a stranger", app.identities[0].1.clone()),
    ];
    let mut ids = vec![ada.order.id.to_string(), ada.order.reference_number.clone()];
    for enrollment in store::enrollments::of_user(app.store.db(), app.learner.id)
        .await
        .unwrap()
    {
        ids.push(enrollment.id.to_string());
        ids.push(enrollment.run_id.to_string());
    }
    ids.push(app.learner.id.to_string());
    ids.sort();
    ids.dedup();
    let mut leaks = Vec::new();
    for route in declared_routes() {
        for method in &route.methods {
            for (who, headers) in &callers {
                for id in &ids {
                    let uri = fill(&route.path, id);
                    let bodies: Vec<Option<(&str, String)>> = if *method == Method::GET {
                        vec![None]
                    } else {
                        vec![
                            Some((
                                "application/x-www-form-urlencoded",
                                format!(
                                    "csrf={CSRF}&order_id={}&reason=other&consent_given=on",
                                    ada.order.id
                                ),
                            )),
                            Some((
                                "application/json",
                                format!(
                                    r#"{{"order_id":{},"run_id":1,"receive_emails":false}}"#,
                                    ada.order.id
                                ),
                            )),
                        ]
                    };
                    for body in bodies {
                        let reply = app.request("192.0.2.9", headers, method, &uri, body).await;
                        if reply.status == StatusCode::INTERNAL_SERVER_ERROR {
                            leaks.push(format!("{method} {uri} as {who}: 500"));
                        }
                        for marker in &ada.markers {
                            // Echoing what the caller sent gives nothing away.
                            if uri.contains(marker.as_str()) {
                                continue;
                            }
                            if reply.body.contains(marker.as_str()) {
                                leaks.push(format!(
                                    "{method} {uri} as {who}: {} shows {marker:?}",
                                    reply.status
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(leaks.is_empty(), "{}", leaks.join("\n"));
    assert_eq!(
        snapshot(&app, &ada).await,
        before,
        "nothing of Ada's changed"
    );
}
