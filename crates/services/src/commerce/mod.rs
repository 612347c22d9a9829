//! Selling: the basket and its price (`basket`), checkout into a pending order and the
//! signed Secure Acceptance form (`checkout`), the processor's answer (`payment`), what a
//! paid order grants (`fulfilment`), refunds and refund requests (`refunds`), creating
//! discounts (`discount_admin`), bulk seat purchases (`bulk`), and payments taken without
//! fulfilment (`held`).

pub mod basket;
pub mod bulk;
pub mod checkout;
pub mod discount_admin;
pub mod fulfilment;
pub mod held;
pub mod payment;
pub mod refunds;

use domain::catalog::Site;
use store::catalog::read::{CatalogView, Purchasable};

/// The CyberSource Secure Acceptance profile orders are paid through. Its `Debug` leaves
/// the secret key out.
#[derive(Clone)]
pub struct Processor {
    /// The hosted payment page the browser posts the signed form to.
    pub url: String,
    pub access_key: String,
    pub profile_id: String,
    pub secret_key: String,
}

impl std::fmt::Debug for Processor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processor")
            .field("url", &self.url)
            .field("access_key", &self.access_key)
            .field("profile_id", &self.profile_id)
            .field("secret_key", &"[redacted]")
            .finish()
    }
}

/// How this deployment sells.
#[derive(Debug, Clone)]
pub struct Storefront {
    /// Registrar's public root, for the receipt and cancel pages the processor returns to.
    pub base_url: String,
    /// Reference numbers are `<prefix>-<environment>-<order id>` (reference
    /// `mitxonline-{ENVIRONMENT}-{id}`, `xpro-b2c-{ENVIRONMENT}-{id}`).
    pub reference_prefix: String,
    /// Bulk seat purchases have their own (reference `xpro-bulk-{ENVIRONMENT}-{id}`).
    pub bulk_reference_prefix: String,
    pub environment: String,
    pub currency: String,
    pub processor: Processor,
    /// The REST API refunds go through; none, only zero-value orders can be refunded.
    pub refunds: Option<std::sync::Arc<integrations::cybersource::refunds::Refunds>>,
    /// Who hears of learners' refund requests.
    pub support_email: Option<String>,
}

impl Storefront {
    /// `<prefix>-<environment>`, which the order id is appended to.
    pub fn reference_stem(&self) -> String {
        format!("{}-{}", self.reference_prefix, self.environment)
    }

    /// `<bulk prefix>-<environment>`, which a bulk purchase's id is appended to.
    pub fn bulk_reference_stem(&self) -> String {
        format!("{}-{}", self.bulk_reference_prefix, self.environment)
    }

    /// What a reference number of this storefront names.
    pub fn reference(&self, reference: &str) -> Option<Reference> {
        let id = |stem: String| -> Option<i64> {
            reference
                .strip_prefix(&stem)?
                .strip_prefix('-')?
                .parse()
                .ok()
        };
        id(self.reference_stem())
            .map(Reference::Order)
            .or_else(|| id(self.bulk_reference_stem()).map(Reference::Bulk))
    }
}

/// The order, or bulk purchase, a reference number names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reference {
    Order(i64),
    Bulk(i64),
}

/// The country a buyer is taxed for (xPRO `determine_visitor_country`): where GeoIP places
/// the client, when a tax rate is set for that country; otherwise the legal address. A
/// visitor who is not signed in has none. Without GeoIP networks loaded, the legal address.
pub async fn tax_country(
    db: &impl sea_orm::ConnectionTrait,
    client_ip: Option<std::net::IpAddr>,
    legal_address_country: Option<&str>,
) -> Result<Option<String>, sea_orm::DbErr> {
    let Some(profile) = legal_address_country.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    if let Some(ip) = client_ip
        && let Some(located) = store::geoip::country_of(db, ip).await?
        && store::commerce::discounts::tax_rate(db, &located)
            .await?
            .is_some()
    {
        return Ok(Some(located));
    }
    Ok(Some(profile.to_string()))
}

/// What one product sells, priced from its latest version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub product_id: i64,
    pub site: Site,
    pub version_id: i64,
    pub sells: Purchasable,
    pub title: String,
    /// The run's courseware id or the program's readable id.
    pub readable_id: String,
    pub description: String,
    pub list: domain::Money,
}

/// The item an active product sells, if the catalog has it with a price.
pub fn item(view: &CatalogView, product_id: i64) -> Option<Item> {
    let sells = view.purchasable(product_id)?;
    let (site, title, readable_id, product) = match sells {
        Purchasable::Run(run_id) => {
            let (course, run) = view.run(run_id)?;
            (
                course.site,
                format!("{} ({})", course.title, run.run_tag),
                run.courseware_id.clone(),
                run.product.as_ref()?,
            )
        }
        Purchasable::Program(program_id) => {
            let program = view.program(program_id)?;
            (
                program.site,
                program.title.clone(),
                program.readable_id.clone(),
                program.product.as_ref()?,
            )
        }
    };
    if !product.is_active {
        return None;
    }
    let (version_id, version) = product.versions.last()?;
    Some(Item {
        product_id,
        site,
        version_id: *version_id,
        sells,
        description: if product.description.is_empty() {
            title.clone()
        } else {
            product.description.clone()
        },
        title,
        readable_id,
        list: version.price,
    })
}
