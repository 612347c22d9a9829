//! Catalog changes made by staff (the staff pages and API) and by `registrar catalog
//! import`: each is written in one transaction, which also queues the CRM's product sweep,
//! so HubSpot learns of every change whichever door it came through.

use chrono::{DateTime, Utc};
use domain::catalog::Catalog;
use jobs::Job as _;
use store::Store;
use store::catalog::write::{ApplyError, Mode, Report, apply};

/// Writes catalog records (`Mode::Strict` for staff edits, `Mode::Import` for files) and
/// queues the CRM's product sweep with them. The caller refreshes any cached catalog.
pub async fn save(
    store: &Store,
    catalog: &Catalog,
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<Report, ApplyError> {
    let txn = store.write().await?;
    let report = apply(&txn, catalog, mode).await?;
    crate::crm::SyncProducts {}
        .enqueue_at(&txn, Some(now + crate::crm::PRODUCTS_DELAY))
        .await?;
    txn.commit().await?;
    Ok(report)
}
