//! Learners' contacts: a change marks the contact and queues a keyed sweep, which sends
//! every marked contact in batches of 100 (new ones by email, known ones by HubSpot id).

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use integrations::hubspot::{HubSpotError, Upsert};
use jobs::{Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Crm, digest, hubspot_error};
use crate::Context;

const CONTACT: &str = "contact";

/// Marks a learner's contact to be sent, and queues the sweep that sends it (a few seconds
/// later, so a burst of changes makes one upsert).
pub async fn contact_changed(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    store::crm::mark(db, CONTACT, &[user_id.to_string()], now).await?;
    SyncContacts {}
        .enqueue_at(db, Some(now + Duration::seconds(5)))
        .await
        .map(|_| ())
}

/// The contact of a learner (xPRO's property mapping, the parts Registrar holds).
async fn contact_properties(
    db: &impl ConnectionTrait,
    user_id: i64,
) -> Result<Option<Map<String, Value>>, DbErr> {
    let Some(user) = store::accounts::find(db, user_id).await? else {
        return Ok(None);
    };
    let address = store::accounts::address(db, user_id).await?;
    let mut properties = Map::new();
    properties.insert("email".into(), user.email.into());
    properties.insert("name".into(), user.name.into());
    if let Some(a) = address {
        properties.insert("firstname".into(), a.first_name.into());
        properties.insert("lastname".into(), a.last_name.into());
        properties.insert("country".into(), a.country.into());
        properties.insert(
            "state".into(),
            a.state
                .map_or(Value::Null, |s| s.rsplit('-').next().unwrap_or(&s).into()),
        );
    }
    Ok(Some(properties))
}

/// Sends these learners' contacts (new ones by email, known ones by their HubSpot id, or
/// by email again when HubSpot no longer has that id), skipping those unchanged since last
/// sent; the HubSpot ids of the contacts HubSpot confirmed (only those are recorded).
pub(super) async fn send_contacts(
    db: &impl ConnectionTrait,
    crm: &Crm,
    users: &[i64],
    now: DateTime<Utc>,
) -> Result<Contacts, JobError> {
    let keys: Vec<String> = users.iter().map(i64::to_string).collect();
    let sent = store::crm::sent(db, CONTACT, &keys).await?;
    let (mut new, mut known, mut ids, mut records) =
        (Vec::new(), Vec::new(), HashMap::new(), Vec::new());
    let mut by_email = HashMap::new();
    let mut gone = Vec::new();
    for (user, key) in users.iter().zip(&keys) {
        let Some(properties) = contact_properties(db, *user).await? else {
            // An account deleted meanwhile: nothing to send, nothing to wait for.
            gone.push(*user);
            continue;
        };
        let digest = digest(&properties);
        match sent.get(key) {
            Some(s) if s.digest == digest => {
                ids.insert(*user, s.hubspot_id.clone());
            }
            Some(s) => {
                known.push((
                    *user,
                    key.clone(),
                    digest,
                    Upsert {
                        key: s.hubspot_id.clone(),
                        properties,
                    },
                ));
            }
            None => {
                let email = properties["email"].as_str().unwrap_or_default().to_string();
                by_email.insert(email.clone(), (*user, key.clone(), digest));
                new.push(Upsert {
                    key: email,
                    properties,
                });
            }
        }
    }
    let updates: Vec<Upsert> = known.iter().map(|(_, _, _, u)| u.clone()).collect();
    match crm.hubspot.batch_update("contacts", &updates).await {
        Ok(()) => {
            for (user, key, digest, update) in known {
                ids.insert(user, update.key.clone());
                records.push((key, update.key, digest));
            }
        }
        // A contact HubSpot no longer has (deleted or merged there): found again by email.
        Err(HubSpotError::Status { status: 404, .. }) => {
            for (user, key, digest, update) in known {
                let email = update.properties["email"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string();
                by_email.insert(email.clone(), (user, key, digest));
                new.push(Upsert {
                    key: email,
                    properties: update.properties,
                });
            }
        }
        Err(other) => return Err(hubspot_error(other)),
    }
    for (email, id) in crm
        .hubspot
        .batch_upsert("contacts", "email", &new)
        .await
        .map_err(hubspot_error)?
    {
        if let Some((user, key, digest)) = by_email.remove(&email) {
            ids.insert(user, id.clone());
            records.push((key, id, digest));
        }
    }
    store::crm::record(db, CONTACT, &records, now).await?;
    Ok(Contacts { ids, gone })
}

/// What a contact send did: the HubSpot ids confirmed, and learners whose account is gone.
pub(super) struct Contacts {
    pub(super) ids: HashMap<i64, String>,
    gone: Vec<i64>,
}

/// Sends every marked contact, 100 at a time.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct SyncContacts {}

impl Job for SyncContacts {
    const KIND: &'static str = "crm.sync_contacts";
    // A rate-limit storm fails many attempts in a row; the marks wait either way.
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    fn unique_key(&self) -> Option<String> {
        Some("crm:contacts".into())
    }

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        // Each mark is tried once a sweep: one HubSpot refuses stays marked for the next
        // sweep instead of being retried here forever.
        let marks = store::crm::pending(db, CONTACT, 10_000).await?;
        for batch in marks.chunks(100) {
            let users: Vec<i64> = batch.iter().filter_map(|(k, _)| k.parse().ok()).collect();
            let confirmed = send_contacts(db, crm, &users, Utc::now()).await?;
            let done: Vec<(String, DateTime<Utc>)> = batch
                .iter()
                .filter(|(k, _)| {
                    k.parse::<i64>().is_ok_and(|u| {
                        confirmed.ids.contains_key(&u) || confirmed.gone.contains(&u)
                    })
                })
                .cloned()
                .collect();
            let missing = batch.len() - done.len();
            if missing > 0 {
                tracing::warn!(
                    missing,
                    "HubSpot did not confirm every contact; they stay marked"
                );
            }
            store::crm::clear(db, CONTACT, &done).await?;
        }
        Ok(())
    }
}
