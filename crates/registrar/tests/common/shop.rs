//! The shop the commerce tests run against: the demo's synthetic catalog on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks, a storefront with a test CyberSource profile, and
//! helpers that check out, and post results as CyberSource signs them.
#![allow(dead_code)]

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use domain::Money;
use domain::commerce::pricing::{Discount, Kind, Redemption};
use integrations::cybersource::secure_acceptance;
use services::commerce::basket::{self, BasketError};
use services::commerce::checkout::{Checkout, checkout};
use services::commerce::payment::{self, Channel, Paid, PaymentError};
use services::commerce::{Processor, Storefront, bulk};
use store::Store;
use store::accounts::User;
use store::catalog::read::CatalogView;
use store::catalog::write::{Mode, apply};
use store::commerce::baskets::Owner;
use store::commerce::bulk_orders::BulkOrder;
use store::commerce::discounts::{self, NewDiscount};
use store::commerce::orders;

pub const SECRET: &str = "security";

pub fn storefront() -> Storefront {
    Storefront {
        base_url: "http://registrar.test".into(),
        reference_prefix: "registrar".into(),
        bulk_reference_prefix: "registrar-bulk".into(),
        environment: "test".into(),
        currency: "USD".into(),
        processor: Processor {
            url: "http://pay.test/pay".into(),
            access_key: "access".into(),
            profile_id: "profile".into(),
            secret_key: SECRET.into(),
        },
        refunds: None,
        support_email: Some("support@example.edu".into()),
    }
}

pub struct Shop {
    pub store: Store,
    pub view: CatalogView,
    pub now: DateTime<Utc>,
    pub front: Storefront,
}

pub async fn shop() -> Shop {
    shop_with(|_| {}).await
}

/// A shop whose synthetic catalog `edit` changed first.
pub async fn shop_with(edit: impl FnOnce(&mut domain::catalog::Catalog)) -> Shop {
    let store = store::testing::fresh_store().await;
    let now = Utc::now();
    let txn = store.write().await.unwrap();
    let mut catalog = registrar::seed::synthetic_catalog(now, 24, 4);
    edit(&mut catalog);
    apply(&txn, &catalog, Mode::Strict).await.unwrap();
    txn.commit().await.unwrap();
    let view = store::catalog::read::load(store.db()).await.unwrap();
    Shop {
        store,
        view,
        now,
        front: storefront(),
    }
}

impl Shop {
    /// A bulk discount code for seat purchases.
    pub async fn bulk_code(&self, code: &str, percent: i64, redemption: Redemption) {
        discounts::create(
            self.store.db(),
            &NewDiscount {
                code: Some(code),
                automatic: false,
                payment_type: Some("sales"),
                payment_transaction: None,
                batch: None,
                bulk: true,
                rules: &Discount {
                    kind: Kind::PercentOff(percent.into()),
                    redemption,
                    max_redemptions: 0,
                    activation: None,
                    expiration: None,
                    products: Vec::new(),
                    users: Vec::new(),
                },
            },
            self.now,
        )
        .await
        .unwrap();
    }
    /// An xPRO run product on sale, with its list price.
    pub fn xpro_product(&self) -> (i64, Money) {
        self.on_sale()
            .into_iter()
            .filter_map(|id| services::commerce::item(&self.view, id))
            .find(|item| item.site == domain::catalog::Site::Xpro)
            .map(|item| (item.product_id, item.list))
            .expect("the synthetic catalog sells xPRO runs")
    }

    pub async fn bulk_checkout(
        &self,
        purchase: &bulk::Purchase<'_>,
    ) -> Result<Checkout<BulkOrder>, bulk::BulkError> {
        bulk::checkout(&self.store, &self.view, &self.front, purchase, self.now).await
    }

    pub async fn learner(&self, name: &str) -> User {
        super::learner(&self.store, name, self.now).await
    }

    /// Products on sale now, run products first.
    pub fn on_sale(&self) -> Vec<i64> {
        let mut ids: Vec<i64> = self
            .view
            .courses
            .iter()
            .flat_map(|c| c.runs.iter())
            .filter_map(|r| r.product.as_ref().map(|p| p.id))
            .collect();
        ids.retain(|id| {
            services::commerce::item(&self.view, *id).is_some_and(|item| {
                basket::sale_blocker(&self.view, &item, self.now).is_none()
                    && item.list > Money::ZERO
            })
        });
        assert!(ids.len() >= 3, "the synthetic catalog has runs on sale");
        ids
    }

    pub async fn fill(&self, user: &User, product: i64) {
        basket::add(
            self.store.db(),
            &self.view,
            &Owner::User(user.id),
            product,
            self.now,
        )
        .await
        .unwrap();
    }

    pub async fn checkout(&self, user: &User) -> Result<Checkout, BasketError> {
        checkout(
            &self.store,
            &self.view,
            &self.front,
            user,
            Some("US"),
            Some("203.0.113.7"),
            self.now,
        )
        .await
    }

    pub async fn pay(&self, user: &User) -> (orders::Order, Vec<(String, String)>) {
        match self.checkout(user).await.unwrap() {
            Checkout::Pay { order, fields, url } => {
                assert_eq!(url, "http://pay.test/pay");
                (order, fields)
            }
            Checkout::Free { .. } => panic!("expected a payment"),
        }
    }

    /// What CyberSource posts back for a request, signed with the profile's key.
    pub fn result(
        &self,
        request: &[(String, String)],
        decision: &str,
        transaction: &str,
    ) -> HashMap<String, String> {
        let get = |k: &str| request.iter().find(|(n, _)| n == k).unwrap().1.clone();
        secure_acceptance::sign(
            SECRET,
            vec![
                ("decision".into(), decision.into()),
                (
                    "reason_code".into(),
                    if decision == "ACCEPT" { "100" } else { "481" }.into(),
                ),
                ("transaction_id".into(), transaction.into()),
                ("req_reference_number".into(), get("reference_number")),
                ("req_amount".into(), get("amount")),
                ("req_currency".into(), get("currency")),
                ("req_transaction_uuid".into(), get("transaction_uuid")),
                ("req_access_key".into(), get("access_key")),
                ("req_profile_id".into(), get("profile_id")),
                ("req_card_number".into(), "xxxxxxxxxxxx1111".into()),
            ],
        )
        .into_iter()
        .collect()
    }

    /// Receives a result and processes it, as the result pages do.
    pub async fn settle(
        &self,
        form: &HashMap<String, String>,
        channel: Channel,
    ) -> Result<Option<Paid>, PaymentError> {
        let (id, _) = payment::receive(&self.store, &self.front, form, channel, self.now).await?;
        Ok(payment::process(&self.store, &self.view, &self.front, id, self.now).await?)
    }

    pub async fn deliver(
        &self,
        form: &HashMap<String, String>,
        channel: Channel,
    ) -> Result<Option<orders::Order>, PaymentError> {
        Ok(self.settle(form, channel).await?.map(|paid| match paid {
            Paid::Order(order) => order,
            Paid::Bulk(bulk) => panic!("a learner's order was expected, not {bulk:?}"),
        }))
    }

    pub async fn count(&self, sql: &str) -> i64 {
        store::testing::count(&self.store, sql).await
    }
}

pub async fn discount(
    shop: &Shop,
    code: &str,
    kind: Kind,
    redemption: Redemption,
    automatic: bool,
) {
    discounts::create(
        shop.store.db(),
        &NewDiscount {
            code: Some(code),
            automatic,
            payment_type: Some("marketing"),
            payment_transaction: None,
            batch: None,
            bulk: false,
            rules: &Discount {
                kind,
                redemption,
                max_redemptions: 0,
                activation: None,
                expiration: None,
                products: Vec::new(),
                users: Vec::new(),
            },
        },
        shop.now,
    )
    .await
    .unwrap();
}
