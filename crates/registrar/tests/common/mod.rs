//! What the registrar crate's tests share.
// Each test binary uses some of these helpers, not all.
#![allow(dead_code)]

pub mod shop;

use chrono::{DateTime, Utc};
use store::Store;
use store::accounts::User;

/// The settings every router test here starts from (none of the peers, nothing for sale);
/// a test sets what it needs over them with `..common::settings(base_url)`.
pub fn settings(base_url: &str) -> web::Settings {
    web::Settings {
        base_url: base_url.to_string(),
        catalog_refresh: std::time::Duration::from_secs(60),
        schedules: services::schedules::for_this_build(&Default::default()).unwrap(),
        mail_outbox: None,
        onboarding: Default::default(),
        gateway_proxies: Vec::new(),
        recaptcha: None,
        vendors: None,
        sheets: None,
        mail_events_key: None,
        metrics_token: None,
        storefront: None,
    }
}

/// A verified learner `name@example.edu` with a US legal address.
pub async fn learner(store: &Store, name: &str, now: DateTime<Utc>) -> User {
    store::testing::learner(store.db(), name, now)
        .await
        .unwrap()
}
