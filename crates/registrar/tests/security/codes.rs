//! One-time and limited codes stay within their limits at the moment that matters: when
//! an order carrying them is fulfilled, not only when they went into a basket.

use domain::commerce::order::OrderState;
use domain::commerce::pricing::{Kind, Redemption};
use services::commerce::basket;
use services::commerce::checkout::Checkout;
use services::commerce::payment::{CAPTURED_WITHOUT_FULFILMENT, Channel};
use store::commerce::baskets::Owner;
use store::commerce::orders;

use crate::common::shop::{Shop, discount, shop};

async fn with_code(shop: &Shop, name: &str, product: i64, code: &str) -> store::accounts::User {
    let learner = shop.learner(name).await;
    shop.fill(&learner, product).await;
    basket::apply_code(
        shop.store.db(),
        &shop.view,
        &Owner::User(learner.id),
        code,
        shop.now,
    )
    .await
    .unwrap();
    learner
}

/// Three learners put one one-time code in their baskets and check out (each order pending
/// with the discount); all three pay, the results arriving together. One order is
/// fulfilled; the other two keep their payment and are flagged, not honoured.
#[tokio::test]
async fn a_one_time_code_in_three_pending_orders_is_honoured_once() {
    let shop = shop().await;
    let product = shop.on_sale()[0];
    discount(
        &shop,
        "ONCE20",
        Kind::PercentOff("20".parse().unwrap()),
        Redemption::OneTime,
        false,
    )
    .await;
    let mut results = Vec::new();
    for name in ["ada", "bob", "cyd"] {
        let learner = with_code(&shop, name, product, "ONCE20").await;
        let (order, request) = shop.pay(&learner).await;
        assert!(
            order.discount_id.is_some(),
            "{name}'s order carries the code"
        );
        results.push((
            order.id,
            shop.result(&request, "ACCEPT", &format!("tx-{name}")),
        ));
    }
    let delivered = futures::future::join_all(
        results
            .iter()
            .map(|(_, form)| shop.deliver(form, Channel::Merchant)),
    )
    .await;
    let states: Vec<OrderState> = delivered
        .into_iter()
        .map(|d| d.unwrap().unwrap().state)
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == OrderState::Fulfilled)
            .count(),
        1,
        "{states:?}"
    );
    for (id, _) in &results {
        let order = orders::find(shop.store.db(), *id).await.unwrap().unwrap();
        if order.state == OrderState::Fulfilled {
            assert!(order.flag.is_none());
            continue;
        }
        assert_eq!(order.state, OrderState::Errored);
        let flag = order.flag.unwrap();
        assert!(flag.starts_with(CAPTURED_WITHOUT_FULFILMENT), "{flag}");
        assert!(flag.contains("ONCE20"), "{flag}");
        assert_eq!(
            orders::transactions(shop.store.db(), *id)
                .await
                .unwrap()
                .len(),
            1,
            "the payment is kept for a refund"
        );
    }
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM course_run_enrollments")
            .await,
        1,
        "one learner enrolled"
    );
}

/// A code with a maximum of two uses, in three pending orders: two are honoured.
#[tokio::test]
async fn a_code_with_a_maximum_is_honoured_up_to_it() {
    let shop = shop().await;
    let product = shop.on_sale()[0];
    discount(
        &shop,
        "TWICE",
        Kind::PercentOff("10".parse().unwrap()),
        Redemption::Unlimited,
        false,
    )
    .await;
    sea_orm::ConnectionTrait::execute_unprepared(
        shop.store.db(),
        "UPDATE discounts SET max_redemptions = 2 WHERE code = 'TWICE'",
    )
    .await
    .unwrap();
    let mut states = Vec::new();
    for name in ["ada", "bob", "cyd"] {
        let learner = with_code(&shop, name, product, "TWICE").await;
        let (_, request) = shop.pay(&learner).await;
        states.push((name, request));
    }
    let mut fulfilled = 0;
    for (name, request) in &states {
        let form = shop.result(request, "ACCEPT", &format!("tx-{name}"));
        let after = shop
            .deliver(&form, Channel::Merchant)
            .await
            .unwrap()
            .unwrap();
        if after.state == OrderState::Fulfilled {
            fulfilled += 1;
        } else {
            assert!(after.flag.unwrap().contains("TWICE"));
        }
    }
    assert_eq!(fulfilled, 2);
}

/// Two learners check out with one 100 % one-time code at the same moment (a free order is
/// fulfilled at checkout): one is enrolled; the other gets no free seat.
#[tokio::test]
async fn a_free_one_time_code_checked_out_twice_at_once_enrolls_one_learner() {
    let shop = shop().await;
    let product = shop.on_sale()[0];
    discount(
        &shop,
        "FREESEAT",
        Kind::PercentOff("100".parse().unwrap()),
        Redemption::OneTime,
        false,
    )
    .await;
    let ada = with_code(&shop, "ada", product, "FREESEAT").await;
    let bob = with_code(&shop, "bob", product, "FREESEAT").await;
    let (a, b) = futures::future::join(shop.checkout(&ada), shop.checkout(&bob)).await;
    let outcomes = [a, b];
    let free = outcomes
        .iter()
        .filter(
            |o| matches!(o, Ok(Checkout::Free { order }) if order.state == OrderState::Fulfilled),
        )
        .count();
    assert_eq!(free, 1, "{outcomes:?}");
    // The other is refused, or (its code no longer usable) asked for the full price.
    for outcome in &outcomes {
        match outcome {
            Ok(Checkout::Free { .. }) => {}
            Ok(Checkout::Pay { order, .. }) => {
                assert_eq!(order.discount_id, None, "{order:?}");
                assert!(order.total > domain::Money::ZERO);
            }
            Err(refused) => assert!(refused.to_string().contains("FREESEAT"), "{refused}"),
        }
    }
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM course_run_enrollments")
            .await,
        1
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM orders WHERE state = 'fulfilled'")
            .await,
        1
    );
}

/// Two companies pay for seats under one contract number at once: one purchase makes
/// codes, the other keeps its payment and is flagged.
#[tokio::test]
async fn one_contract_number_paid_twice_is_fulfilled_once() {
    let shop = shop().await;
    let (product, _) = shop.xpro_product();
    let mut forms = Vec::new();
    for (i, email) in ["a@corp.example", "b@corp.example"].iter().enumerate() {
        let Checkout::Pay { fields, .. } = shop
            .bulk_checkout(&services::commerce::bulk::Purchase {
                email,
                num_seats: 2,
                product_id: product,
                code: "",
                contract_number: Some("PO-77"),
            })
            .await
            .unwrap()
        else {
            panic!("a payment")
        };
        forms.push(shop.result(&fields, "ACCEPT", &format!("tx-bulk-{i}")));
    }
    let settled =
        futures::future::join_all(forms.iter().map(|f| shop.settle(f, Channel::Merchant))).await;
    let states: Vec<OrderState> = settled
        .into_iter()
        .map(|s| match s.unwrap().unwrap() {
            services::commerce::payment::Paid::Bulk(b) => b.state,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == OrderState::Fulfilled)
            .count(),
        1,
        "{states:?}"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_order_codes")
            .await,
        2,
        "one purchase's seats"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_orders WHERE flag LIKE 'captured payment without fulfilment%'")
            .await,
        1
    );
}

/// Two companies check out seats with one 100 % one-time bulk code at the same moment (a
/// free purchase is completed at checkout): one gets codes, the other is refused; neither
/// deadlocks on PostgreSQL.
#[tokio::test]
async fn a_free_one_time_bulk_code_used_twice_at_once_makes_codes_once() {
    let shop = shop().await;
    let (product, _) = shop.xpro_product();
    shop.bulk_code("ALLSEATS", 100, Redemption::OneTime).await;
    let purchase = |email: &'static str| services::commerce::bulk::Purchase {
        email,
        num_seats: 2,
        product_id: product,
        code: "ALLSEATS",
        contract_number: None,
    };
    let (a, b) = (purchase("a@corp.example"), purchase("b@corp.example"));
    let (first, second) =
        futures::future::join(shop.bulk_checkout(&a), shop.bulk_checkout(&b)).await;
    let outcomes = [first, second];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, Ok(Checkout::Free { .. })))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|o| matches!(o, Err(services::commerce::bulk::BulkError::InvalidCode))),
        "{outcomes:?}"
    );
    assert_eq!(
        shop.count("SELECT COUNT(*) AS n FROM bulk_order_codes")
            .await,
        2
    );
}
