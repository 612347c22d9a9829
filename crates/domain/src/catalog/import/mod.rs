//! Readers for catalog JSON: our own export format, and the payloads of the originals'
//! public catalog APIs (xPRO `/api/courses/` and `/api/programs/` arrays, MITx Online
//! `/api/v2/courses/` and `/api/v2/programs/` pages), so a deployment can migrate from them.

mod mitxonline;
mod xpro;

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::snapshot::{Catalog, FORMAT};

/// What kind of document a file held; reported back to the operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Registrar,
    XproCourses,
    XproPrograms,
    MitxonlineCourses,
    MitxonlinePrograms,
}

impl Source {
    pub fn describe(self) -> &'static str {
        match self {
            Source::Registrar => "Registrar catalog export",
            Source::XproCourses => "xPRO /api/courses/ payload",
            Source::XproPrograms => "xPRO /api/programs/ payload",
            Source::MitxonlineCourses => "MITx Online /api/v2/courses/ page",
            Source::MitxonlinePrograms => "MITx Online /api/v2/programs/ page",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("not JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("unrecognised document: {0}")]
    Unrecognised(String),
    #[error("{what}: {message}")]
    Field { what: String, message: String },
}

/// Parses a catalog document of any supported kind.
pub fn parse(text: &str) -> Result<(Source, Catalog), ImportError> {
    let value: Value = serde_json::from_str(text)?;
    match &value {
        Value::Object(map) if map.contains_key("format") => {
            let catalog: Catalog = serde_json::from_value(value)?;
            if catalog.format != FORMAT {
                return Err(ImportError::Unrecognised(format!(
                    "format \"{}\" is not \"{FORMAT}\"",
                    catalog.format
                )));
            }
            Ok((Source::Registrar, catalog))
        }
        Value::Object(map) if map.contains_key("results") => {
            let results = map["results"].as_array().ok_or_else(|| {
                ImportError::Unrecognised("\"results\" is not an array".to_string())
            })?;
            if results.iter().any(is_program) {
                Ok((
                    Source::MitxonlinePrograms,
                    mitxonline::programs(results.clone())?,
                ))
            } else {
                Ok((
                    Source::MitxonlineCourses,
                    mitxonline::courses(results.clone())?,
                ))
            }
        }
        Value::Array(items) => {
            if items.iter().any(is_program) {
                Ok((Source::XproPrograms, xpro::programs(items.clone())?))
            } else {
                Ok((Source::XproCourses, xpro::courses(items.clone())?))
            }
        }
        _ => Err(ImportError::Unrecognised(
            "expected a Registrar export, a JSON array (xPRO) or a page with \"results\" (MITx Online)"
                .to_string(),
        )),
    }
}

fn is_program(item: &Value) -> bool {
    item.get("courses").is_some() || item.get("req_tree").is_some()
}

/// Deserialises each item, naming the failing one by its readable id or position.
fn parse_items<T: for<'de> Deserialize<'de>>(
    items: Vec<Value>,
    kind: &str,
) -> Result<Vec<T>, ImportError> {
    items
        .into_iter()
        .enumerate()
        .map(|(index, item)| {
            let label = item
                .get("readable_id")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| format!("#{index}"));
            serde_json::from_value(item).map_err(|e| field_error(format!("{kind} {label}"), e))
        })
        .collect()
}

/// Names the record a field error belongs to.
fn field_error(what: impl Into<String>, message: impl std::fmt::Display) -> ImportError {
    ImportError::Field {
        what: what.into(),
        message: message.to_string(),
    }
}

/// The originals render decimals both as JSON numbers (`999.0`) and as strings (`"1.25"`),
/// and weekly hours as either `5` or `"5"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum Numberish {
    Number(f64),
    Text(String),
}

impl Numberish {
    fn text(&self) -> String {
        match self {
            Numberish::Number(n) => n.to_string(),
            Numberish::Text(t) => t.trim().to_string(),
        }
    }
}

fn numberish<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Numberish>, D::Error> {
    Option::<Numberish>::deserialize(d)
}

fn to_int(value: &Option<Numberish>) -> Option<i32> {
    value
        .as_ref()
        .and_then(|v| v.text().parse::<f64>().ok())
        .map(|f| f.round() as i32)
}

fn to_money(value: &Option<Numberish>, what: &str) -> Result<Option<crate::Money>, ImportError> {
    match value {
        None => Ok(None),
        Some(v) if v.text().is_empty() => Ok(None),
        Some(v) => crate::Money::parse(&v.text())
            .map(Some)
            .map_err(|e| field_error(what, format!("price \"{}\" {e}", v.text()))),
    }
}

fn to_centi(value: &Option<Numberish>) -> Option<i32> {
    to_money(value, "credits")
        .ok()
        .flatten()
        .map(|m| m.minor as i32)
}

#[derive(Debug, Clone, Deserialize)]
struct Named {
    name: String,
    #[serde(default)]
    description: Option<String>,
}

fn instructors(list: &[Named]) -> Vec<super::snapshot::Instructor> {
    list.iter()
        .map(|n| super::snapshot::Instructor {
            name: n.name.clone(),
            description: n.description.clone().unwrap_or_default(),
        })
        .collect()
}

fn names(list: &Option<Vec<Named>>) -> Vec<String> {
    list.iter().flatten().map(|n| n.name.clone()).collect()
}

#[cfg(test)]
mod tests;
