//! HubSpot, as both references sync it (xPRO §9, MITx Online §10.1): contacts for
//! learners, products for what is sold, a deal with its line item for each order and bulk
//! purchase, associated to the buyer's contact. Each object is keyed in HubSpot by a
//! unique property (`email` for a new contact, `unique_app_id` for Registrar's own
//! objects); what was sent is recorded with a digest, so an unchanged object is not sent
//! again.
//!
//! Bursts coalesce: a change to a learner marks the contact and queues one keyed, slightly
//! delayed sweep that sends every marked contact in batches of 100; a deal's sync is keyed
//! per order, so it reads the order as it then stands. A 429 is waited out as HubSpot asks;
//! a longer limit, or an outage, fails the job, which is retried while the marks stay:
//! nothing is lost. Without a HubSpot token, nothing is sent.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use domain::catalog::Site;
use domain::commerce::order::OrderState;
use integrations::hubspot::{HubSpot, HubSpotError, Upsert};
use jobs::{Enqueue, Job, JobError};
use sea_orm::{ConnectionTrait, DbErr};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use store::catalog::read::CatalogView;
use store::commerce::baskets::Owner;

use crate::Context;
use crate::certificates::Learners;

/// The HubSpot account and how this deployment's objects appear in it.
pub struct Crm {
    pub hubspot: HubSpot,
    /// `unique_app_id` prefix (the references' `MITOL_HUBSPOT_API_ID_PREFIX`, `XPRO`).
    pub prefix: String,
    /// The deal pipeline and its stages.
    pub pipeline: String,
    pub stages: Stages,
    /// xPRO's registration form (`HUBSPOT_PORTAL_ID`, `HUBSPOT_CREATE_USER_FORM_ID`), posted
    /// at each sign-up when set.
    pub signup_form: Option<SignUpForm>,
}

/// A HubSpot form: where its submissions go.
#[derive(Debug, Clone)]
pub struct SignUpForm {
    /// `https://forms.hubspot.com` (or a simulator).
    pub url: String,
    pub portal_id: String,
    pub form_id: String,
}

/// Deal stage ids of the pipeline.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stages {
    /// A basket checked out but not paid (xPRO "checkout abandoned").
    pub abandoned: String,
    /// Waiting for the processor (MITx Online "checkout pending").
    pub pending: String,
    /// Paid (both "processed").
    pub processed: String,
    /// Declined, errored, canceled or refunded (MITx Online's closed stage).
    pub lost: String,
}

impl Default for Stages {
    fn default() -> Self {
        Stages {
            abandoned: "checkout_abandoned".into(),
            pending: "checkout_pending".into(),
            processed: "processed".into(),
            lost: "closedlost".into(),
        }
    }
}

impl Stages {
    /// Each reference's mapping of order states (xPRO keeps declined and errored orders
    /// "abandoned" and refunded ones "processed"; MITx Online closes them).
    pub fn of(&self, site: Site, state: OrderState) -> &str {
        match (site, state) {
            (_, OrderState::Fulfilled) => &self.processed,
            (Site::Xpro, OrderState::Refunded) => &self.processed,
            (Site::Xpro, _) => &self.abandoned,
            (Site::Mitxonline, OrderState::Pending) => &self.pending,
            (Site::Mitxonline, _) => &self.lost,
        }
    }
}

fn hubspot_error(e: HubSpotError) -> JobError {
    if e.is_transient() {
        JobError::Retry(e.to_string())
    } else {
        JobError::Permanent(e.to_string())
    }
}

fn digest(properties: &Map<String, Value>) -> String {
    let bytes = serde_json::to_vec(properties).expect("JSON serializes");
    format!("{:x}", Sha256::digest(bytes))
}

fn money(minor: i64) -> String {
    domain::Money::from_minor(minor).to_string()
}

// ---- contacts ----

const CONTACT: &str = "contact";

/// Marks a learner's contact to be sent, and queues the sweep that sends it (a few seconds
/// later, so a burst of changes makes one upsert).
pub async fn contact_changed(
    db: &impl ConnectionTrait,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    store::crm::mark(db, CONTACT, &[user_id.to_string()], now).await?;
    sweep_soon(
        db,
        &SyncContacts {},
        "crm:contacts",
        now + Duration::seconds(5),
    )
    .await
}

/// Queues a keyed sweep to run at `at`: changes until then join the same sweep.
async fn sweep_soon<J: Job>(
    db: &impl ConnectionTrait,
    job: &J,
    key: &str,
    at: DateTime<Utc>,
) -> Result<(), DbErr> {
    jobs::push(
        db,
        job,
        Enqueue {
            unique_key: Some(key.to_string()),
            run_at: Some(at),
        },
    )
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
async fn send_contacts(
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
struct Contacts {
    ids: HashMap<i64, String>,
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

// ---- products ----

const PRODUCT: &str = "product";

/// xPRO's product name: "{title}: Run {n}" for a program run tag `+R{n}`, else
/// "{title}: {text id}".
fn product_name(title: &str, text_id: &str) -> String {
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
async fn send_products(
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

impl SyncProducts {
    /// Queues the sweep after a catalog change (keyed: many changes, one sweep).
    pub async fn catalog_changed(
        db: &impl ConnectionTrait,
        now: DateTime<Utc>,
    ) -> Result<(), DbErr> {
        sweep_soon(
            db,
            &SyncProducts {},
            "crm:products",
            now + Duration::seconds(10),
        )
        .await
    }
}

impl Job for SyncProducts {
    const KIND: &'static str = "crm.sync_products";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

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

// ---- registration form ----

/// xPRO's `send_user_to_hubspot`: at sign-up the new address is posted to HubSpot's
/// registration form with the visitor's `hubspotutk` cookie, so HubSpot joins the contact
/// to the visits it tracked before.
#[derive(Debug, Serialize, Deserialize)]
pub struct SubmitSignUpForm {
    pub email: String,
    pub hubspotutk: Option<String>,
}

impl SubmitSignUpForm {
    pub async fn enqueue(
        db: &impl ConnectionTrait,
        email: &str,
        hubspotutk: Option<&str>,
    ) -> Result<(), DbErr> {
        jobs::push(
            db,
            &SubmitSignUpForm {
                email: email.to_string(),
                hubspotutk: hubspotutk.map(str::to_string),
            },
            Enqueue::default(),
        )
        .await
        .map(|_| ())
    }
}

impl Job for SubmitSignUpForm {
    const KIND: &'static str = "crm.submit_signup_form";
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let Some(form) = &crm.signup_form else {
            return Ok(());
        };
        let context = json!({"hutk": self.hubspotutk}).to_string();
        crm.hubspot
            .submit_form(
                &form.url,
                &form.portal_id,
                &form.form_id,
                &[
                    ("email", self.email.as_str()),
                    ("hs_context", context.as_str()),
                ],
            )
            .await
            .map_err(hubspot_error)
    }
}

// ---- certificates ----

/// A certificate custom object kind: its schema name, its `unique_app_id` stem and its
/// property prefix.
struct CertificateObject {
    name: &'static str,
    stem: &'static str,
    field: &'static str,
}

impl CertificateObject {
    fn of(program: bool) -> Self {
        if program {
            CertificateObject {
                name: "program_certificate",
                stem: "pc",
                field: "program",
            }
        } else {
            CertificateObject {
                name: "course_run_certificate",
                stem: "crc",
                field: "course_run",
            }
        }
    }

    /// The schema's objectTypeId, or its name as MITx Online falls back to.
    async fn object_type(&self, crm: &Crm) -> Result<String, JobError> {
        Ok(crm
            .hubspot
            .custom_object_type(self.name)
            .await
            .map_err(hubspot_error)?
            .unwrap_or_else(|| self.name.to_string()))
    }

    fn key(&self, crm: &Crm, id: i64) -> String {
        format!("{}-{}-{id}", crm.prefix, self.stem)
    }
}

/// Certificates removed (a grade that no longer passes deletes the course certificate):
/// the objects sent for them are archived in HubSpot.
#[derive(Debug, Serialize, Deserialize)]
pub struct ArchiveCertificates {
    pub program: bool,
    pub ids: Vec<i64>,
}

impl ArchiveCertificates {
    pub async fn enqueue(
        db: &impl ConnectionTrait,
        program: bool,
        ids: Vec<i64>,
    ) -> Result<(), DbErr> {
        if ids.is_empty() {
            return Ok(());
        }
        jobs::push(
            db,
            &ArchiveCertificates { program, ids },
            Enqueue::default(),
        )
        .await
        .map(|_| ())
    }
}

impl Job for ArchiveCertificates {
    const KIND: &'static str = "crm.archive_certificates";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let kind = CertificateObject::of(self.program);
        let keys: Vec<String> = self.ids.iter().map(|id| kind.key(crm, *id)).collect();
        let sent = store::crm::sent(db, "certificate", &keys).await?;
        if sent.is_empty() {
            return Ok(());
        }
        let object_type = kind.object_type(crm).await?;
        for (key, object) in sent {
            crm.hubspot
                .archive(&object_type, &object.hubspot_id)
                .await
                .map_err(hubspot_error)?;
            store::crm::forget(db, "certificate", &key).await?;
        }
        Ok(())
    }
}

/// MITx Online's certificate custom objects (`course_run_certificate`,
/// `program_certificate`): each certificate of these learners, issued, revoked or
/// restored, upserted by `unique_app_id` and associated with the learner's contact. xPRO
/// has no such objects, so its certificates are not sent.
#[derive(Debug, Serialize, Deserialize)]
pub struct SyncCertificates {
    #[serde(flatten)]
    pub learners: Learners,
}

impl SyncCertificates {
    pub async fn enqueue(db: &impl ConnectionTrait, learners: Learners) -> Result<(), DbErr> {
        jobs::push(db, &SyncCertificates { learners }, Enqueue::default())
            .await
            .map(|_| ())
    }
}

impl Job for SyncCertificates {
    const KIND: &'static str = "crm.sync_certificates";
    const MAX_ATTEMPTS: u32 = 25;
    type Context = Context;

    async fn run(self, ctx: &Context) -> Result<(), JobError> {
        use store::certificates::Of;
        let Some(crm) = ctx.crm.as_ref() else {
            return Ok(());
        };
        let db = ctx.store.db();
        let view = store::catalog::read::load(db).await?;
        let of = self.learners.of();
        let (site, readable_id, title) = match of {
            Of::Program(id) => {
                let Some(p) = view.program(id) else {
                    return Ok(());
                };
                (p.site, p.readable_id.clone(), p.title.clone())
            }
            Of::Run(id) => {
                let Some((course, run)) = view.run(id) else {
                    return Ok(());
                };
                let title = if run.title.is_empty() {
                    course.title.clone()
                } else {
                    run.title.clone()
                };
                (course.site, run.courseware_id.clone(), title)
            }
        };
        if site != Site::Mitxonline {
            return Ok(());
        }
        let kind = CertificateObject::of(self.learners.program);
        let field = kind.field;
        let object_type = kind.object_type(crm).await?;
        let now = Utc::now();
        for users in self
            .learners
            .users
            .chunks(integrations::hubspot::BATCH_LIMIT)
        {
            let certificates = store::certificates::of_learners(db, of, users).await?;
            let objects: Vec<Upsert> = certificates
                .iter()
                .map(|(c, holder)| {
                    let key = kind.key(crm, c.id);
                    let Value::Object(properties) = json!({
                        "unique_app_id": key,
                        format!("{field}_readable_id"): readable_id,
                        format!("{field}_title"): title,
                        "user_email": holder.email,
                        "issue_date": c.issue_date.timestamp_millis().to_string(),
                        "is_revoked": if c.is_revoked { "true" } else { "false" },
                    }) else {
                        unreachable!("a JSON object literal")
                    };
                    Upsert { key, properties }
                })
                .collect();
            let ids: HashMap<String, String> = crm
                .hubspot
                .batch_upsert(&object_type, "unique_app_id", &objects)
                .await
                .map_err(hubspot_error)?
                .into_iter()
                .collect();
            let learners: Vec<i64> = certificates.iter().map(|(c, _)| c.user_id).collect();
            let contacts = send_contacts(db, crm, &learners, now).await?.ids;
            let pairs: Vec<(String, String)> = certificates
                .iter()
                .zip(&objects)
                .filter_map(|((c, _), o)| {
                    Some((ids.get(&o.key)?.clone(), contacts.get(&c.user_id)?.clone()))
                })
                .collect();
            crm.hubspot
                .batch_associate(&object_type, "contacts", &pairs)
                .await
                .map_err(hubspot_error)?;
            let records: Vec<(String, String, String)> = objects
                .iter()
                .filter_map(|o| {
                    Some((
                        o.key.clone(),
                        ids.get(&o.key)?.clone(),
                        digest(&o.properties),
                    ))
                })
                .collect();
            store::crm::record(db, "certificate", &records, now).await?;
        }
        tracing::info!(
            ?of,
            learners = self.learners.users.len(),
            "certificates synced to HubSpot"
        );
        Ok(())
    }
}

// ---- deals ----

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

impl SyncDeal {
    pub async fn enqueue(db: &impl ConnectionTrait, deal: Deal) -> Result<(), DbErr> {
        let key = match deal {
            Deal::Order(id) => format!("order:{id}"),
            Deal::Bulk(id) => format!("bulk:{id}"),
            Deal::Basket(user) => format!("basket:{user}"),
        };
        jobs::push(
            db,
            &SyncDeal { deal },
            Enqueue {
                unique_key: Some(key),
                run_at: None,
            },
        )
        .await
        .map(|_| ())
    }
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
