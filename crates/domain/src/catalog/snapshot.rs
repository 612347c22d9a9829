//! The catalog interchange format: what `registrar catalog export` writes and
//! `registrar catalog import` reads, and what the demo seed and the importers of the
//! originals' API payloads produce. Records name each other by readable id, so a file moves
//! between deployments; numeric ids are kept when the target has them free.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::requirements::{Operator, RequirementNode};
use crate::money::Money;

pub const FORMAT: &str = "registrar-catalog/1";

/// Which storefront offers a course or program, and therefore which catalog API dialect
/// lists it: the MITx Online API (`/api/v2/…`) or the xPRO API (`/api/courses/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Site {
    #[default]
    Mitxonline,
    Xpro,
}

impl Site {
    pub fn as_str(self) -> &'static str {
        match self {
            Site::Mitxonline => "mitxonline",
            Site::Xpro => "xpro",
        }
    }

    /// The storefront's name as learners know it.
    pub fn display_name(self) -> &'static str {
        match self {
            Site::Mitxonline => "MITx Online",
            Site::Xpro => "MIT xPRO",
        }
    }

    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "mitxonline" => Some(Site::Mitxonline),
            "xpro" => Some(Site::Xpro),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    pub format: String,
    #[serde(default)]
    pub courses: Vec<CourseRecord>,
    #[serde(default)]
    pub programs: Vec<ProgramRecord>,
}

impl Default for Catalog {
    fn default() -> Self {
        Self {
            format: FORMAT.to_string(),
            courses: Vec::new(),
            programs: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instructor {
    pub name: String,
    #[serde(default)]
    pub description: String,
}

/// Marketing-page data of a course or program: the CMS page fields both references serve
/// from their page models (CoursePage/ProgramPage and xPRO's ProductPage).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct PageRecord {
    pub live: bool,
    pub description: Option<String>,
    /// Absolute URL or a path on the site (`/media/…`).
    pub feature_image: Option<String>,
    /// "14 weeks" (MITx Online `length`, xPRO `duration`).
    pub duration: Option<String>,
    /// "7 hrs/wk" (MITx Online `effort`, xPRO `time_commitment`).
    pub time_commitment: Option<String>,
    pub min_weeks: Option<i32>,
    pub max_weeks: Option<i32>,
    pub min_weekly_hours: Option<i32>,
    pub max_weekly_hours: Option<i32>,
    pub min_price: Option<Money>,
    pub max_price: Option<Money>,
    /// "Online" or "Hybrid" (xPRO).
    pub format: Option<String>,
    pub video_url: Option<String>,
    /// Continuing-education units in hundredths (xPRO `credits`, from the certificate page).
    pub credits_centi: Option<i32>,
    pub external_marketing_url: Option<String>,
    pub marketing_hubspot_form_id: Option<String>,
    pub financial_assistance_form_url: Option<String>,
    pub include_in_learn_catalog: bool,
    pub ingest_content_files_for_ai: bool,
    pub prerequisites: Option<String>,
    /// Free-text price shown on a MITx Online program page ("$175").
    pub price_text: Option<String>,
    pub list_price: Option<Money>,
    /// Who signs the certificates, in order.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub signatories: Vec<Signatory>,
}

/// A certificate signatory (the references' `SignatoryPage`: name, title lines,
/// organization).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Signatory {
    pub name: String,
    pub title: Option<String>,
    pub organization: Option<String>,
}

impl Signatory {
    /// Signatories written one per line as `Name | Title | Organization` (title and
    /// organization optional), as staff type them.
    pub fn parse_lines(text: &str) -> Result<Vec<Signatory>, String> {
        text.lines()
            .map(str::trim)
            .filter(|line| !line.is_empty())
            .map(|line| {
                let mut parts = line.split('|').map(str::trim);
                let name = parts.next().unwrap_or_default().to_string();
                let mut optional = || parts.next().filter(|p| !p.is_empty()).map(str::to_string);
                let (title, organization) = (optional(), optional());
                if name.is_empty() {
                    return Err(format!("{line:?}: each line starts with a name"));
                }
                if parts.next().is_some() {
                    return Err(format!("{line:?}: at most name | title | organization"));
                }
                Ok(Signatory {
                    name,
                    title,
                    organization,
                })
            })
            .collect()
    }

    /// The lines [`Signatory::parse_lines`] reads.
    pub fn to_lines(signatories: &[Signatory]) -> String {
        signatories
            .iter()
            .map(|s| {
                let mut parts = vec![s.name.as_str()];
                if s.title.is_some() || s.organization.is_some() {
                    parts.push(s.title.as_deref().unwrap_or_default());
                }
                parts.extend(s.organization.as_deref());
                parts.join(" | ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriceVersion {
    pub price: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_on: Option<DateTime<Utc>>,
}

/// The product that sells a run or a program; `prices` is its version history, oldest first
/// (the last entry is the current price).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProductRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub description: String,
    pub prices: Vec<PriceVersion>,
}

fn yes() -> bool {
    true
}

impl ProductRecord {
    pub fn priced(price: Money, description: impl Into<String>) -> Self {
        Self {
            id: None,
            is_active: true,
            description: description.into(),
            prices: vec![PriceVersion {
                price,
                created_on: None,
            }],
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    pub courseware_id: String,
    pub run_tag: String,
    pub title: String,
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrollment_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrollment_end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub upgrade_deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    pub expiration_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub certificate_available_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub is_self_paced: bool,
    #[serde(default = "yes")]
    pub live: bool,
    #[serde(default)]
    pub courseware_url: Option<String>,
    #[serde(default = "english")]
    pub language: String,
    #[serde(default)]
    pub enrollment_modes: Vec<String>,
    #[serde(default)]
    pub instructors: Vec<Instructor>,
    #[serde(default)]
    pub product: Option<ProductRecord>,
}

fn english() -> String {
    "en".to_string()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CourseRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default)]
    pub site: Site,
    pub readable_id: String,
    pub title: String,
    #[serde(default = "yes")]
    pub live: bool,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub is_external: bool,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub topics: Vec<String>,
    /// Countries (ISO 3166-1 alpha-2) whose learners may not enroll or buy (MITx Online
    /// `BlockedCountry`), checked against the legal address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocked_countries: Vec<String>,
    #[serde(default)]
    pub instructors: Vec<Instructor>,
    #[serde(default)]
    pub page: Option<PageRecord>,
    #[serde(default)]
    pub runs: Vec<RunRecord>,
}

/// How a requirement leaf names its course or program inside an interchange file: by
/// readable id, or (from the MITx Online API, whose trees carry only numbers) by id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Reference {
    ReadableId { readable_id: String },
    Id { id: i64 },
}

pub type RequirementRecord = RequirementNode<Reference>;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRunRecord {
    pub run_tag: String,
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProgramRecord {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(default)]
    pub site: Site,
    pub readable_id: String,
    pub title: String,
    #[serde(default = "yes")]
    pub live: bool,
    #[serde(default = "series")]
    pub program_type: String,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub is_external: bool,
    #[serde(default)]
    pub availability: Option<String>,
    #[serde(default)]
    pub display_mode: Option<String>,
    #[serde(default)]
    pub b2b_only: bool,
    #[serde(default)]
    pub start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub end_date: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrollment_start: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrollment_end: Option<DateTime<Utc>>,
    #[serde(default)]
    pub enrollment_modes: Vec<String>,
    #[serde(default)]
    pub departments: Vec<String>,
    #[serde(default)]
    pub instructors: Vec<Instructor>,
    #[serde(default)]
    pub page: Option<PageRecord>,
    #[serde(default)]
    pub product: Option<ProductRecord>,
    #[serde(default)]
    pub runs: Vec<ProgramRunRecord>,
    /// The children of the requirement root.
    #[serde(default)]
    pub requirements: Vec<RequirementRecord>,
}

fn series() -> String {
    "Series".to_string()
}

impl ProgramRecord {
    /// The requirement tree an xPRO program implies: all of its courses, in program order.
    pub fn all_of_courses(
        readable_ids: impl IntoIterator<Item = String>,
    ) -> Vec<RequirementRecord> {
        vec![RequirementNode::Operator {
            operator: Operator::AllOf,
            title: Some("Required Courses".to_string()),
            elective: false,
            children: readable_ids
                .into_iter()
                .map(|readable_id| RequirementNode::Course {
                    course: Reference::ReadableId { readable_id },
                })
                .collect(),
        }]
    }
}

#[cfg(test)]
mod signatory_tests {
    use super::Signatory;

    #[test]
    fn signatories_read_and_write_as_staff_type_them() {
        let typed = "Anant Agarwal | Professor | MIT\n\n  Jane Doe |  | MIT xPRO \nSolo";
        let parsed = Signatory::parse_lines(typed).unwrap();
        assert_eq!(parsed.len(), 3);
        assert_eq!(parsed[1].title, None);
        assert_eq!(parsed[1].organization.as_deref(), Some("MIT xPRO"));
        assert_eq!(parsed[2].name, "Solo");
        assert_eq!(
            Signatory::to_lines(&parsed),
            "Anant Agarwal | Professor | MIT\nJane Doe |  | MIT xPRO\nSolo"
        );
        assert_eq!(
            Signatory::parse_lines(&Signatory::to_lines(&parsed)).unwrap(),
            parsed
        );
        assert!(Signatory::parse_lines(" | Dean").is_err());
        assert!(Signatory::parse_lines("A | B | C | D").is_err());
    }
}
