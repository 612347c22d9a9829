//! Deals: one with its line item for each order, bulk purchase and basket not checked out,
//! associated to the buyer's contact; a basket's deal is archived once the basket is gone.

use chrono::{DateTime, Utc};
use domain::catalog::Site;
use domain::commerce::order::OrderState;
use integrations::hubspot::Upsert;
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use store::catalog::read::CatalogView;
use store::commerce::baskets::Owner;

use super::contacts::send_contacts;
use super::products::{product_name, send_products};
use super::{Crm, digest, hubspot_error, money};
use crate::Context;

/// Which deal: a learner's order, a bulk seat purchase (xPRO's B2B deals), or a learner's
/// basket not checked out (both references' "checkout abandoned" deal on a basket change;
/// MITx Online makes a pending order for it, a quirk not copied). A basket deal stands
/// until the basket is checked out, emptied or bought: then it is archived, and the
/// order's deal, if any, tells the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Deal {
    Order(i64),
    Bulk(i64),
    Basket(i64),
}

#[derive(Debug, Serialize, Deserialize)]
pub struct SyncDeal {
    pub deal: Deal,
}

/// What a deal is made of, read from an order or a bulk purchase.
struct DealParts {
    site: Site,
    key: String,
    properties: Map<String, Value>,
    line_key: String,
    line: Map<String, Value>,
    product: Option<i64>,
    /// The buyer: a learner (a full contact) or a bulk buyer's email.
    buyer: Buyer,
}

enum Buyer {
    Learner(i64),
    Email(String),
}

fn deal_properties(
    crm: &Crm,
    site: Site,
    state: OrderState,
    name: String,
    amount: i64,
    closed: Option<DateTime<Utc>>,
) -> Map<String, Value> {
    let Value::Object(mut properties) = json!({
        "dealname": name,
        "amount": money(amount),
        "dealstage": crm.stages.of(site, state),
        "status": state.as_str(),
        "pipeline": crm.pipeline,
    }) else {
        unreachable!("a JSON object literal")
    };
    if let Some(at) = closed.filter(|_| state == OrderState::Fulfilled) {
        properties.insert("closedate".into(), at.timestamp_millis().to_string().into());
    }
    properties
}

async fn deal_parts(
    db: &impl ConnectionTrait,
    crm: &Crm,
    view: &CatalogView,
    deal: Deal,
) -> Result<Option<DealParts>, DbErr> {
    match deal {
        Deal::Order(id) => {
            let Some(order) = store::commerce::orders::find(db, id).await? else {
                return Ok(None);
            };
            let Some(line) = store::commerce::orders::lines(db, id)
                .await?
                .into_iter()
                .next()
            else {
                return Ok(None);
            };
            let item = crate::commerce::item(view, line.product_id);
            let site = item.as_ref().map_or(Site::Xpro, |i| i.site);
            let stem = match site {
                Site::Xpro => "XPRO",
                Site::Mitxonline => "MITXONLINE",
            };
            let mut properties = deal_properties(
                crm,
                site,
                order.state,
                format!("{stem}-ORDER-{}", order.id),
                order.total.minor,
                Some(order.updated_on),
            );
            let discount = line.list.minor - line.price.minor;
            properties.insert("discount_amount".into(), money(discount).into());
            properties.insert("order_type".into(), "B2C".into());
            properties.insert(
                "unique_app_id".into(),
                format!("{}-{}", crm.prefix, order.id).into(),
            );
            let name = item.as_ref().map_or_else(
                || line.description.clone(),
                |i| {
                    product_name(
                        &i.title,
                        line.program_run.as_deref().unwrap_or(&i.readable_id),
                    )
                },
            );
            let line_key = format!("{}-{}", crm.prefix, line.id);
            let Value::Object(line_properties) = json!({
                "unique_app_id": line_key,
                "name": name,
                "quantity": line.quantity,
                "price": money(line.price.minor),
                "status": order.state.as_str(),
                "product_id": item.as_ref().map(|i| i.readable_id.clone()),
            }) else {
                unreachable!("a JSON object literal")
            };
            Ok(Some(DealParts {
                site,
                key: format!("{}-{}", crm.prefix, order.id),
                properties,
                line_key,
                line: line_properties,
                product: item.map(|i| i.product_id),
                buyer: Buyer::Learner(order.purchaser_id),
            }))
        }
        Deal::Basket(user) => {
            let basket = store::commerce::baskets::find(db, &Owner::User(user)).await?;
            let Some((basket, product)) = basket.and_then(|b| Some((b.clone(), b.product_id?)))
            else {
                return Ok(None);
            };
            if store::commerce::orders::pending_for(db, user, product)
                .await?
                .is_some()
            {
                return Ok(None);
            }
            let Some(item) = crate::commerce::item(view, product) else {
                return Ok(None);
            };
            let (key, line_key) = basket_keys(crm, user);
            let stem = match item.site {
                Site::Xpro => "XPRO",
                Site::Mitxonline => "MITXONLINE",
            };
            let mut properties = deal_properties(
                crm,
                item.site,
                OrderState::Pending,
                format!("{stem}-BASKET-{user}"),
                item.list.minor,
                None,
            );
            properties.insert("dealstage".into(), crm.stages.abandoned.clone().into());
            properties.insert("status".into(), "basket".into());
            properties.insert("order_type".into(), "B2C".into());
            properties.insert("unique_app_id".into(), key.clone().into());
            let Value::Object(line) = json!({
                "unique_app_id": line_key,
                "name": product_name(&item.title, basket.program_run.as_deref().unwrap_or(&item.readable_id)),
                "quantity": 1,
                "price": money(item.list.minor),
                "status": "basket",
                "product_id": item.readable_id,
            }) else {
                unreachable!("a JSON object literal")
            };
            Ok(Some(DealParts {
                site: item.site,
                key,
                properties,
                line_key,
                line,
                product: Some(item.product_id),
                buyer: Buyer::Learner(user),
            }))
        }
        Deal::Bulk(id) => {
            let Some(order) = store::commerce::bulk_orders::find(db, id).await? else {
                return Ok(None);
            };
            let item = crate::commerce::item(view, order.product_id);
            let key = format!("{}-XPRO-B2BORDER-{}", crm.prefix, order.id);
            let mut properties = deal_properties(
                crm,
                Site::Xpro,
                order.state,
                format!("XPRO-B2BORDER-{}", order.id),
                order.total.minor,
                Some(order.updated_on),
            );
            properties.insert("unique_app_id".into(), key.clone().into());
            properties.insert("num_seats".into(), order.num_seats.into());
            properties.insert("order_type".into(), "B2B".into());
            properties.insert("discount_amount".into(), money(order.discount.minor).into());
            let line_key = format!("{}-XPRO-B2BLINE-{}", crm.prefix, order.id);
            let Value::Object(line) = json!({
                "unique_app_id": line_key,
                "name": item.as_ref().map_or_else(|| format!("product {}", order.product_id), |i| product_name(&i.title, &i.readable_id)),
                "quantity": order.num_seats,
                "price": money(order.per_item.minor),
                "status": order.state.as_str(),
                "product_id": item.as_ref().map(|i| i.readable_id.clone()),
            }) else {
                unreachable!("a JSON object literal")
            };
            Ok(Some(DealParts {
                site: Site::Xpro,
                key,
                properties,
                line_key,
                line,
                product: item.map(|i| i.product_id),
                buyer: Buyer::Email(order.email),
            }))
        }
    }
}

/// A basket deal's and its line item's unique app ids.
fn basket_keys(crm: &Crm, user: i64) -> (String, String) {
    (
        format!("{}-BASKET-{user}", crm.prefix),
        format!("{}-BASKETLINE-{user}", crm.prefix),
    )
}

/// Archives a learner's basket deal and its line item, if they were sent.
async fn archive_basket(db: &impl ConnectionTrait, crm: &Crm, user: i64) -> Result<(), JobError> {
    let (deal, line) = basket_keys(crm, user);
    for (kind, object_type, key) in [("deal", "deals", deal), ("line_item", "line_items", line)] {
        let sent = store::crm::sent(db, kind, std::slice::from_ref(&key)).await?;
        if let Some(object) = sent.get(&key) {
            crm.hubspot
                .archive(object_type, &object.hubspot_id)
                .await
                .map_err(hubspot_error)?;
            store::crm::forget(db, kind, &key).await?;
        }
    }
    Ok(())
}

/// Upserts one object; its HubSpot id.
async fn upsert_one(
    crm: &Crm,
    object_type: &str,
    id_property: &str,
    key: &str,
    properties: &Map<String, Value>,
) -> Result<String, JobError> {
    let object = Upsert {
        key: key.to_string(),
        properties: properties.clone(),
    };
    crm.hubspot
        .batch_upsert(object_type, id_property, &[object])
        .await
        .map_err(hubspot_error)?
        .pop()
        .map(|(_, id)| id)
        .ok_or_else(|| JobError::Retry(format!("HubSpot returned no {object_type}")))
}

impl Job for SyncDeal {
    const KIND: &'static str = "crm.sync_deal";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some(match self.deal {
            Deal::Order(id) => format!("order:{id}"),
            Deal::Bulk(id) => format!("bulk:{id}"),
            Deal::Basket(user) => format!("basket:{user}"),
        })
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let Some(mut parts) = deal_parts(db, crm, &view, self.deal).await? else {
            if let Deal::Basket(user) = self.deal {
                archive_basket(db, crm, user).await?;
            }
            return Ok(());
        };
        let now = Utc::now();
        let contact = match &parts.buyer {
            Buyer::Learner(user) => send_contacts(db, crm, &[*user], now)
                .await?
                .ids
                .remove(user),
            Buyer::Email(email) => {
                let Value::Object(properties) = json!({"email": email}) else {
                    unreachable!("a JSON object literal")
                };
                Some(upsert_one(crm, "contacts", "email", email, &properties).await?)
            }
        };
        if let Some(product) = parts.product
            && let Some(id) = send_products(db, crm, &view, &[product], now)
                .await?
                .remove(&product)
        {
            parts.line.insert("hs_product_id".into(), id.into());
        }
        let deal_id =
            upsert_one(crm, "deals", "unique_app_id", &parts.key, &parts.properties).await?;
        let line_id = upsert_one(
            crm,
            "line_items",
            "unique_app_id",
            &parts.line_key,
            &parts.line,
        )
        .await?;
        if let Some(contact) = &contact {
            crm.hubspot
                .associate("deals", &deal_id, "contacts", contact)
                .await
                .map_err(hubspot_error)?;
        }
        crm.hubspot
            .associate("line_items", &line_id, "deals", &deal_id)
            .await
            .map_err(hubspot_error)?;
        store::crm::record(
            db,
            "deal",
            &[(parts.key.clone(), deal_id, digest(&parts.properties))],
            now,
        )
        .await?;
        store::crm::record(
            db,
            "line_item",
            &[(parts.line_key.clone(), line_id, digest(&parts.line))],
            now,
        )
        .await?;
        tracing::info!(deal = ?self.deal, site = ?parts.site, "deal synced to HubSpot");
        Ok(())
    }
}
