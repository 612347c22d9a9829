//! What the registrar crate's tests share.

pub mod shop;

use chrono::{DateTime, Utc};
use store::Store;
use store::accounts::User;

/// A verified learner `name@example.edu` with a US legal address.
pub async fn learner(store: &Store, name: &str, now: DateTime<Utc>) -> User {
    store::testing::learner(store.db(), name, now)
        .await
        .unwrap()
}
