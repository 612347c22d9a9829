//! What the router tests share: settings, importing the recorded catalogs.
// Each test binary uses some of these helpers, not all.
#![allow(dead_code)]

use std::time::Duration;

use domain::catalog::import::parse;
use store::Store;
use store::catalog::write::{Mode, apply};

/// Test settings: no provisioning, no gateway, no outbox page; a long catalog refresh so
/// each test's own writes are what invalidate the cache.
pub fn settings(base_url: &str) -> web::Settings {
    web::Settings {
        base_url: base_url.to_string(),
        catalog_refresh: Duration::from_secs(60),
        schedules: services::schedules::for_this_build(&Default::default()).unwrap(),
        mail_outbox: None,
        provision_openedx: false,
        gateway_proxies: Vec::new(),
        recaptcha: None,
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
