//! Products: what is on sale, each sent with its name, price and description when one of
//! them changed since last sent (a keyed sweep after each catalog change).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use integrations::hubspot::Upsert;
use jobs::{Job, JobError};
use sea_orm::ConnectionTrait;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::catalog::read::CatalogView;

use super::{Crm, digest, hubspot_error, money};
use crate::Context;

const PRODUCT: &str = "product";

/// xPRO's product name: "{title}: Run {n}" for a program run tag `+R{n}`, else
/// "{title}: {text id}".
pub(super) fn product_name(title: &str, text_id: &str) -> String {
    match text_id.rsplit_once("+R") {
        Some((_, n)) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => {
            format!("{title}: Run {n}")
        }
        _ => format!("{title}: {text_id}"),
    }
}

fn product_properties(crm: &Crm, item: &crate::commerce::Item) -> Map<String, Value> {
    let Value::Object(properties) = json!({
        "unique_app_id": format!("{}-{}", crm.prefix, item.product_id),
        "name": product_name(&item.title, &item.readable_id),
        "price": money(item.list.minor),
        "description": item.description,
    }) else {
        unreachable!("a JSON object literal")
    };
    properties
}

/// Sends these products unless unchanged; their HubSpot ids.
pub(super) async fn send_products(
    db: &impl ConnectionTrait,
    crm: &Crm,
    view: &CatalogView,
    products: &[i64],
    now: DateTime<Utc>,
) -> Result<HashMap<i64, String>, JobError> {
    let keys: Vec<String> = products.iter().map(i64::to_string).collect();
    let sent = store::crm::sent(db, PRODUCT, &keys).await?;
    let (mut ids, mut changed, mut pending) = (HashMap::new(), Vec::new(), HashMap::new());
    for product in products {
        let Some(item) = crate::commerce::item(view, *product) else {
            continue;
        };
        let properties = product_properties(crm, &item);
        let digest = digest(&properties);
        match sent.get(&product.to_string()) {
            Some(s) if s.digest == digest => {
                ids.insert(*product, s.hubspot_id.clone());
            }
            _ => {
                let key = format!("{}-{product}", crm.prefix);
                pending.insert(key.clone(), (*product, digest));
                changed.push(Upsert { key, properties });
            }
        }
    }
    let mut records = Vec::new();
    for (key, id) in crm
        .hubspot
        .batch_upsert("products", "unique_app_id", &changed)
        .await
        .map_err(hubspot_error)?
    {
        if let Some((product, digest)) = pending.remove(&key) {
            ids.insert(product, id.clone());
            records.push((product.to_string(), id, digest));
        }
    }
    store::crm::record(db, PRODUCT, &records, now).await?;
    Ok(ids)
}

/// Sends every product on sale whose name, price or description changed since last sent
/// (the references send one on each price change).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncProducts {}

/// How long after a catalog change the product sweep runs: changes until then join it.
pub const PRODUCTS_DELAY: Duration = Duration::seconds(10);

impl Job for SyncProducts {
    const KIND: &'static str = "crm.sync_products";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("crm:products".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let products: Vec<i64> = view
            .courses
            .iter()
            .flat_map(|c| c.runs.iter().filter_map(|r| r.product.as_ref()))
            .chain(view.programs.iter().filter_map(|p| p.product.as_ref()))
            .filter(|p| p.is_active)
            .map(|p| p.id)
            .collect();
        send_products(db, crm, &view, &products, Utc::now()).await?;
        Ok(())
    }
}
