//! Field-level checks of catalog records before anything is written. Errors are keyed by
//! the path of the offending field (`runs[1].end_date`), so a form or an API client can show
//! each message next to its field.
//!
//! Run dates follow xPRO's `validate_courserun_dates` ordering rules (start ≤ end,
//! enrollment start ≤ enrollment end, expiration after start and end). Its rules that dates
//! must lie in the future are deliberately not applied: in xPRO they make a finished run
//! impossible to save again (a quirk the inventory records), and they would block importing
//! history.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::requirements::{self, RequirementNode};
use super::snapshot::{CourseRecord, PageRecord, ProgramRecord, RunRecord};
use crate::ids::{CoursewareId, ReadableId};

/// Messages per field path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct FieldErrors(BTreeMap<String, Vec<String>>);

impl FieldErrors {
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_default().push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn get(&self, field: &str) -> Option<&[String]> {
        self.0.get(field).map(Vec::as_slice)
    }

    pub fn fields(&self) -> impl Iterator<Item = (&str, &[String])> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_slice()))
    }

    /// Adds another set of errors under a path prefix (`runs[0].`).
    pub fn merge(&mut self, prefix: &str, other: FieldErrors) {
        for (field, messages) in other.0 {
            for message in messages {
                self.add(format!("{prefix}{field}"), message);
            }
        }
    }

    pub fn into_result(self) -> Result<(), FieldErrors> {
        if self.is_empty() { Ok(()) } else { Err(self) }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(field, messages)| format!("{field}: {}", messages.join("; ")))
            .collect();
        f.write_str(&parts.join(", "))
    }
}

const TITLE_MAX: usize = 255;
const RUN_TAG_MAX: usize = 100;

fn check_title(errors: &mut FieldErrors, title: &str) {
    if title.trim().is_empty() {
        errors.add("title", "must not be blank");
    } else if title.chars().count() > TITLE_MAX {
        errors.add("title", format!("must be at most {TITLE_MAX} characters"));
    }
}

fn check_order(
    errors: &mut FieldErrors,
    earlier: (&str, Option<DateTime<Utc>>),
    later: (&str, Option<DateTime<Utc>>),
) {
    if let (Some(a), Some(b)) = (earlier.1, later.1)
        && a > b
    {
        errors.add(later.0, format!("must not be before {}", earlier.0));
    }
}

/// An `http(s)` address: anything else (`javascript:` …) is never linked to.
pub fn is_web_url(url: &str) -> bool {
    let lower = url.to_ascii_lowercase();
    (lower.starts_with("https://") || lower.starts_with("http://"))
        && !url.contains(char::is_whitespace)
}

/// Links a page shows to visitors must be web addresses.
fn check_page(errors: &mut FieldErrors, page: Option<&PageRecord>) {
    let links = page.into_iter().flat_map(|p| {
        [
            ("page.external_marketing_url", &p.external_marketing_url),
            (
                "page.financial_assistance_form_url",
                &p.financial_assistance_form_url,
            ),
        ]
    });
    for (field, url) in links {
        if url.as_deref().is_some_and(|u| !is_web_url(u)) {
            errors.add(field, "must be an http:// or https:// address");
        }
    }
}

pub fn validate_run(run: &RunRecord) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Err(e) = CoursewareId::parse(run.courseware_id.as_str()) {
        errors.add("courseware_id", e.to_string());
    }
    if run.run_tag.trim().is_empty() {
        errors.add("run_tag", "must not be blank");
    } else if run.run_tag.chars().count() > RUN_TAG_MAX {
        errors.add(
            "run_tag",
            format!("must be at most {RUN_TAG_MAX} characters"),
        );
    }
    check_title(&mut errors, &run.title);
    check_order(
        &mut errors,
        ("start_date", run.start_date),
        ("end_date", run.end_date),
    );
    check_order(
        &mut errors,
        ("enrollment_start", run.enrollment_start),
        ("enrollment_end", run.enrollment_end),
    );
    check_order(
        &mut errors,
        ("start_date", run.start_date),
        ("expiration_date", run.expiration_date),
    );
    check_order(
        &mut errors,
        ("end_date", run.end_date),
        ("expiration_date", run.expiration_date),
    );
    if let Some(product) = &run.product
        && product.prices.is_empty()
    {
        errors.add("product.prices", "must hold at least one price");
    }
    errors
}

pub fn validate_course(course: &CourseRecord) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Err(e) = ReadableId::parse(course.readable_id.as_str()) {
        errors.add("readable_id", e.to_string());
    }
    check_title(&mut errors, &course.title);
    check_page(&mut errors, course.page.as_ref());
    for (index, country) in course.blocked_countries.iter().enumerate() {
        if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
            errors.add(
                format!("blocked_countries[{index}]"),
                format!("{country:?} is not a two-letter country code such as \"US\""),
            );
        }
    }
    let mut seen = BTreeMap::new();
    for (index, run) in course.runs.iter().enumerate() {
        errors.merge(&format!("runs[{index}]."), validate_run(run));
        if let Some(first) = seen.insert(run.courseware_id.as_str(), index) {
            errors.add(
                format!("runs[{index}].courseware_id"),
                format!("repeats runs[{first}]"),
            );
        }
    }
    errors
}

pub fn validate_program(program: &ProgramRecord) -> FieldErrors {
    let mut errors = FieldErrors::default();
    if let Err(e) = ReadableId::parse(program.readable_id.as_str()) {
        errors.add("readable_id", e.to_string());
    }
    check_title(&mut errors, &program.title);
    check_page(&mut errors, program.page.as_ref());
    check_order(
        &mut errors,
        ("start_date", program.start_date),
        ("end_date", program.end_date),
    );
    check_order(
        &mut errors,
        ("enrollment_start", program.enrollment_start),
        ("enrollment_end", program.enrollment_end),
    );
    if let Some(availability) = &program.availability
        && !matches!(availability.as_str(), "anytime" | "dated")
    {
        errors.add("availability", "must be \"anytime\" or \"dated\"");
    }
    if let Err(e) = requirements::validate(&program.requirements) {
        errors.add("requirements", e.to_string());
    }
    if program
        .requirements
        .iter()
        .any(|node| !matches!(node, RequirementNode::Operator { .. }))
    {
        errors.add(
            "requirements",
            "the top level holds operator groups (all_of, min_number_of); put courses and programs inside one",
        );
    }
    errors
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::catalog::requirements::Operator;
    use crate::catalog::snapshot::Reference;

    fn day(d: u32) -> Option<DateTime<Utc>> {
        Some(Utc.with_ymd_and_hms(2027, 1, d, 0, 0, 0).unwrap())
    }

    fn run() -> RunRecord {
        serde_json::from_value(serde_json::json!({
            "courseware_id": "course-v1:MITxT+18.01x+1T2027",
            "run_tag": "1T2027",
            "title": "Calculus",
        }))
        .unwrap()
    }

    #[test]
    fn page_links_must_be_web_addresses() {
        let mut course: CourseRecord = serde_json::from_value(serde_json::json!({
            "readable_id": "course-v1:MITxT+18.01x",
            "title": "Calculus",
            "page": {"external_marketing_url": "javascript:alert(1)", "financial_assistance_form_url": "https://mit.edu/aid"},
        }))
        .unwrap();
        let errors = validate_course(&course);
        assert_eq!(
            errors.get("page.external_marketing_url"),
            Some(&["must be an http:// or https:// address".to_string()][..])
        );
        assert!(errors.get("page.financial_assistance_form_url").is_none());
        course.page.as_mut().unwrap().external_marketing_url =
            Some("HTTPS://vendor.example/x".into());
        assert!(validate_course(&course).is_empty());
    }

    #[test]
    fn a_plain_run_passes() {
        assert!(validate_run(&run()).is_empty());
    }

    #[test]
    fn run_date_order_rules() {
        let bad = RunRecord {
            start_date: day(10),
            end_date: day(5),
            enrollment_start: day(9),
            enrollment_end: day(2),
            expiration_date: day(7),
            ..run()
        };
        let errors = validate_run(&bad);
        assert_eq!(
            errors.get("end_date"),
            Some(&["must not be before start_date".to_string()][..])
        );
        assert_eq!(
            errors.get("enrollment_end"),
            Some(&["must not be before enrollment_start".to_string()][..])
        );
        assert_eq!(
            errors.get("expiration_date").map(<[String]>::len),
            Some(1),
            "{errors}"
        );
        let equal = RunRecord {
            start_date: day(5),
            end_date: day(5),
            ..run()
        };
        assert!(
            validate_run(&equal).is_empty(),
            "equal instants are allowed"
        );
    }

    #[test]
    fn past_runs_can_be_saved_fixing_the_xpro_quirk() {
        let past = RunRecord {
            start_date: Some(Utc.with_ymd_and_hms(2001, 1, 1, 0, 0, 0).unwrap()),
            end_date: Some(Utc.with_ymd_and_hms(2001, 2, 1, 0, 0, 0).unwrap()),
            ..run()
        };
        assert!(validate_run(&past).is_empty());
    }

    #[test]
    fn malformed_course_key_and_blank_fields() {
        let bad = RunRecord {
            courseware_id: "course-v1:MITxT+18.01x".into(),
            run_tag: " ".into(),
            title: String::new(),
            ..run()
        };
        let errors = validate_run(&bad);
        for field in ["courseware_id", "run_tag", "title"] {
            assert!(errors.get(field).is_some(), "{field} missing in {errors}");
        }
    }

    #[test]
    fn course_errors_are_prefixed_and_duplicates_caught() {
        let course: CourseRecord = serde_json::from_value(serde_json::json!({
            "readable_id": "bad id",
            "title": "T",
            "runs": [],
        }))
        .unwrap();
        let course = CourseRecord {
            runs: vec![
                run(),
                RunRecord {
                    end_date: day(1),
                    start_date: day(2),
                    ..run()
                },
            ],
            ..course
        };
        let errors = validate_course(&course);
        assert!(errors.get("readable_id").is_some());
        assert!(errors.get("runs[1].end_date").is_some());
        assert_eq!(
            errors.get("runs[1].courseware_id"),
            Some(&["repeats runs[0]".to_string()][..])
        );
    }

    #[test]
    fn program_tree_rules() {
        let mut program: ProgramRecord = serde_json::from_value(serde_json::json!({
            "readable_id": "program-v1:MITx+P",
            "title": "P",
        }))
        .unwrap();
        assert!(validate_program(&program).is_empty());
        program.requirements = vec![RequirementNode::Course {
            course: Reference::Id { id: 1 },
        }];
        assert!(validate_program(&program).get("requirements").is_some());
        program.requirements = vec![RequirementNode::Operator {
            operator: Operator::MinNumberOf { count: 2 },
            title: Some("Electives".into()),
            elective: true,
            children: vec![RequirementNode::Course {
                course: Reference::Id { id: 1 },
            }],
        }];
        assert!(validate_program(&program).get("requirements").is_some());
        program.requirements.clear();
        program.availability = Some("sometimes".into());
        assert!(validate_program(&program).get("availability").is_some());
    }
}
