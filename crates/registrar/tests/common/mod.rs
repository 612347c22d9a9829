//! What the registrar crate's tests share.

use chrono::{DateTime, Utc};
use domain::accounts::{Email, LegalAddress, Username};
use store::Store;
use store::accounts::User;

/// A verified learner `name@example.edu` with a US legal address.
pub async fn learner(store: &Store, name: &str, now: DateTime<Utc>) -> User {
    store::accounts::create_user(
        store.db(),
        store::accounts::NewUser {
            email: &Email::parse(&format!("{name}@example.edu")).unwrap(),
            username: &Username::parse(name).unwrap(),
            name,
            password_hash: None,
            address: &LegalAddress {
                first_name: name.into(),
                last_name: "Tester".into(),
                country: "US".into(),
                state: Some("US-MA".into()),
            },
            email_verified: true,
            global_id: None,
        },
        now,
    )
    .await
    .unwrap()
}
