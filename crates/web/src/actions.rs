//! Service calls that the APIs and the pages both make, with what the site supplies (its
//! storefront, the cached catalog, the clock): a payment result, a refund request, a
//! catalog save.

use std::collections::HashMap;

use domain::catalog::Catalog;
use services::commerce::payment::{self, Channel, Paid, PaymentError};
use services::commerce::refunds::{self, RequestRefusal};
use store::catalog::write::Mode;

use crate::AppState;

/// Receives a result and acts on it (`payment::take`); what it was about, as it then stands.
pub async fn take_result(
    state: &AppState,
    form: &HashMap<String, String>,
    channel: Channel,
) -> Result<Paid, PaymentError> {
    let Some(store_front) = state.settings.storefront.as_ref() else {
        return Err(PaymentError::UnknownOrder(String::new()));
    };
    let snapshot = state.catalog.get().await?;
    payment::take(
        &state.store,
        &snapshot.view,
        store_front,
        form,
        channel,
        state.now(),
    )
    .await
}

/// Records a learner's refund request (page and API).
pub async fn ask_refund(
    state: &AppState,
    user_id: i64,
    ask: &refunds::Ask<'_>,
) -> Result<(), RequestRefusal> {
    refunds::request(
        &state.store,
        user_id,
        ask,
        state.settings.storefront.as_ref(),
        state.now(),
    )
    .await?;
    Ok(())
}

/// Writes catalog records (staff edits, the staff API): one transaction, which also queues
/// the CRM's product sweep; every process's cached catalog is refreshed.
pub(crate) async fn save_catalog(
    state: &AppState,
    catalog: &Catalog,
) -> Result<store::catalog::write::Report, store::catalog::write::ApplyError> {
    let report = services::catalog::save(&state.store, catalog, Mode::Strict, state.now()).await?;
    state.catalog.invalidate();
    Ok(report)
}
