//! External vendor catalogs (xPRO §7, `sync_external_courses`): Emeritus and Global Alumni
//! courses read from the vendors' report rows, kept as external courses, runs and products
//! that link out and are never sold here.
//!
//! Courses and runs are keyed by the ids the vendor codes map to (`MXP-<TAG>` →
//! `course-v1:xPRO+<TAG>`, run code `…-YY-MM#N` → `+YY-MM-N`), as the reference derives
//! them. Deliberate differences: a report that is missing or whose job failed deactivates
//! nothing (the reference cannot tell an empty feed from a failed one); a row whose codes do
//! not have the expected shape is skipped and counted rather than stopping the sync.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::Site;
use super::snapshot::{CourseRecord, PageRecord, PriceVersion, ProductRecord, RunRecord};
use super::validate::is_web_url;
use crate::Money;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Vendor {
    Emeritus,
    GlobalAlumni,
}

impl Vendor {
    pub const ALL: [Vendor; 2] = [Vendor::Emeritus, Vendor::GlobalAlumni];

    /// The platform its courses belong to.
    pub fn platform(self) -> &'static str {
        match self {
            Vendor::Emeritus => "Emeritus",
            Vendor::GlobalAlumni => "Global Alumni",
        }
    }

    /// The report its catalog is read from.
    pub fn reports(self) -> &'static [&'static str] {
        match self {
            Vendor::Emeritus => &["Batch"],
            Vendor::GlobalAlumni => &["GA - Batch"],
        }
    }

    /// Whether a course of this platform belongs to the vendor (platform names compare
    /// without case, as xPRO's do).
    pub fn owns(self, platform: Option<&str>) -> bool {
        platform.is_some_and(|p| p.eq_ignore_ascii_case(self.platform()))
    }

    /// Whether the platforms' settings (name, sync on) turn this vendor's sync on.
    pub fn enabled(self, platforms: &[(String, bool)]) -> bool {
        platforms
            .iter()
            .any(|(name, on)| *on && self.owns(Some(name)))
    }

    /// Its name in URLs (`/api/external_courses/{slug}/`).
    pub fn slug(self) -> &'static str {
        match self {
            Vendor::Emeritus => "emeritus",
            Vendor::GlobalAlumni => "global_alumni",
        }
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.slug() == slug)
    }

    fn subhead(self) -> String {
        format!("Delivered in collaboration with {}.", self.platform())
    }
}

/// A report row read into the catalog's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRun {
    pub title: String,
    pub course_code: String,
    pub readable_id: String,
    pub run_code: String,
    pub run_tag: String,
    pub courseware_id: String,
    pub price: Option<Money>,
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
    pub enrollment_end: Option<DateTime<Utc>>,
    pub marketing_url: Option<String>,
    pub weeks: i32,
    pub language: String,
    pub description: String,
    pub format: Option<String>,
    pub category: Option<String>,
    pub image: Option<String>,
    /// Continuing-education units in hundredths.
    pub ceus_centi: Option<i32>,
}

/// Why a row was not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Skip {
    /// A required field is missing, the currency is not USD, or a code has another shape.
    BadData(String),
    /// The dates break xPRO's course-run date rules (§11.6).
    InvalidDates(String),
}

fn text(row: &Map<String, Value>, key: &str) -> Option<String> {
    match row.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn day(row: &Map<String, Value>, key: &str) -> Result<Option<DateTime<Utc>>, Skip> {
    text(row, key)
        .map(|d| {
            NaiveDate::parse_from_str(d.get(..10).unwrap_or(&d), "%Y-%m-%d")
                .map(|d| d.and_time(NaiveTime::MIN).and_utc())
                .map_err(|_| Skip::BadData(format!("{key} {d:?} is not a YYYY-MM-DD date")))
        })
        .transpose()
}

/// The run tag in a vendor run code: its trailing `YY-MM#N`, `#` made `-`.
fn run_tag(code: &str) -> Option<String> {
    let (head, number) = code.rsplit_once('#')?;
    let tail = head.get(head.len().checked_sub(5)?..)?;
    let bytes = tail.as_bytes();
    let shaped = bytes[2] == b'-'
        && [0, 1, 3, 4].iter().all(|&i| bytes[i].is_ascii_digit())
        && !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit());
    shaped.then(|| format!("{tail}-{number}"))
}

/// The course readable id and run tag the vendor's codes map to.
fn ids(course_code: &str, run_code: &str) -> Result<(String, String), Skip> {
    let tag = course_code
        .split_once('-')
        .map(|(_, tag)| tag.replace('.', "_"))
        .filter(|tag| !tag.is_empty())
        .ok_or_else(|| {
            Skip::BadData(format!("course code {course_code:?} is not <MXP|MO>-<TAG>"))
        })?;
    let run_tag = run_tag(run_code)
        .ok_or_else(|| Skip::BadData(format!("run code {run_code:?} does not end in YY-MM#N")))?;
    Ok((format!("course-v1:xPRO+{tag}"), run_tag))
}

/// The courseware id of the run a row names, whatever else is wrong with the row: a run
/// the feed still lists is not taken down, even when its row is skipped.
pub fn listed_run(row: &Map<String, Value>) -> Option<String> {
    let (readable_id, run_tag) =
        ids(&text(row, "course_code")?, &text(row, "course_run_code")?).ok()?;
    Some(format!("{readable_id}+{run_tag}"))
}

/// Reads a report row (xPRO `ExternalCourse`), checking what the reference checks: the
/// required fields, USD, and the run date rules including that the run lies ahead.
pub fn parse(row: &Map<String, Value>, now: DateTime<Utc>) -> Result<ExternalRun, Skip> {
    let title = text(row, "program_name");
    for (field, value) in [
        ("course_title", title.clone()),
        ("course_code", text(row, "course_code")),
        ("course_run_code", text(row, "course_run_code")),
        ("list_currency", text(row, "list_currency")),
    ] {
        if value.is_none() {
            return Err(Skip::BadData(format!("{field} is missing")));
        }
    }
    let (title, course_code, run_code) = (
        title.unwrap_or_default(),
        text(row, "course_code").unwrap_or_default(),
        text(row, "course_run_code").unwrap_or_default(),
    );
    let currency = text(row, "list_currency").unwrap_or_default();
    if currency != "USD" {
        return Err(Skip::BadData(format!("currency {currency} is not USD")));
    }
    let (readable_id, run_tag) = ids(&course_code, &run_code)?;
    let price = text(row, "list_price")
        .map(|p| {
            Money::parse(&p)
                .map_err(|_| Skip::BadData(format!("list_price {p:?} is not an amount")))
        })
        .transpose()?
        .filter(|p| p.minor > 0);
    let start = day(row, "start_date")?;
    let end = day(row, "end_date")?.map(|d| d + Duration::hours(23) + Duration::minutes(59));
    let enrollment_end = day(row, "enrollment_end_date")?.or(start.map(|s| s + Duration::days(7)));
    let weeks = text(row, "total_weeks")
        .and_then(|w| w.parse::<f64>().ok())
        .map_or(0, |w| w as i32);
    let ceus_centi = text(row, "ceu")
        .and_then(|c| c.parse::<f64>().ok())
        .map(|c| (c * 100.0).round() as i32)
        .filter(|c| *c > 0);
    let parsed = ExternalRun {
        courseware_id: format!("{readable_id}+{run_tag}"),
        title,
        course_code,
        readable_id,
        run_code,
        run_tag,
        price,
        start,
        end,
        enrollment_end,
        marketing_url: text(row, "landing_page_url")
            .map(|u| u.split(['?', '#']).next().unwrap_or_default().to_string())
            .filter(|u| is_web_url(u)),
        weeks,
        language: text(row, "language").unwrap_or_else(|| "English".to_string()),
        description: text(row, "description").unwrap_or_default(),
        format: text(row, "format"),
        category: text(row, "Category"),
        image: text(row, "image_name"),
        ceus_centi,
    };
    date_errors(&parsed, now).map_or(Ok(parsed), |e| Err(Skip::InvalidDates(e)))
}

/// xPRO `get_courserun_date_errors`, in its order.
fn date_errors(run: &ExternalRun, now: DateTime<Utc>) -> Option<String> {
    if run.start.is_none() && run.enrollment_end.is_none() {
        return Some("a start date or an enrollment end is required".into());
    }
    if !run
        .start
        .into_iter()
        .chain(run.enrollment_end)
        .any(|d| d > now)
    {
        return Some("the start date or the enrollment end must lie ahead".into());
    }
    if let (Some(start), Some(end)) = (run.start, run.end)
        && start > end
    {
        return Some("the start date is after the end date".into());
    }
    if run.end.is_some_and(|end| end <= now) {
        return Some("the end date has passed".into());
    }
    None
}

/// What a sync did, by vendor code (xPRO's `StatsCollector`), for the staff summary.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Stats {
    pub courses_created: BTreeSet<String>,
    pub existing_courses: BTreeSet<String>,
    pub course_runs_created: BTreeSet<String>,
    pub course_runs_updated: BTreeSet<String>,
    pub course_runs_deactivated: BTreeSet<String>,
    pub course_runs_skipped: BTreeSet<String>,
    pub course_runs_with_invalid_dates: BTreeSet<String>,
    pub course_runs_without_prices: BTreeSet<String>,
    pub products_created: BTreeSet<String>,
    pub product_versions_created: BTreeSet<String>,
    pub course_pages_created: BTreeSet<String>,
    pub course_pages_updated: BTreeSet<String>,
    pub certificates_created: BTreeSet<String>,
    pub certificates_updated: BTreeSet<String>,
}

impl Stats {
    /// Each count with its codes, one line each, for the summary email.
    pub fn lines(&self) -> Vec<String> {
        [
            ("Courses created", &self.courses_created),
            ("Existing courses", &self.existing_courses),
            ("Course runs created", &self.course_runs_created),
            ("Course runs updated", &self.course_runs_updated),
            ("Course runs deactivated", &self.course_runs_deactivated),
            ("Course runs skipped (bad data)", &self.course_runs_skipped),
            (
                "Course runs with invalid dates",
                &self.course_runs_with_invalid_dates,
            ),
            (
                "Course runs without prices",
                &self.course_runs_without_prices,
            ),
            ("Products created", &self.products_created),
            ("Product versions created", &self.product_versions_created),
            ("Course pages created", &self.course_pages_created),
            ("Course pages updated", &self.course_pages_updated),
            ("Certificates created", &self.certificates_created),
            ("Certificates updated", &self.certificates_updated),
        ]
        .into_iter()
        .map(|(name, codes)| {
            let list: Vec<&str> = codes.iter().map(String::as_str).collect();
            if list.is_empty() {
                format!("{name}: 0")
            } else {
                format!("{name}: {} ({})", list.len(), list.join(", "))
            }
        })
        .collect()
    }
}

fn fill<T: Clone>(slot: &mut Option<T>, value: Option<&T>, updated: &mut bool) {
    if slot.is_none()
        && let Some(value) = value
    {
        *slot = Some(value.clone());
        *updated = true;
    }
}

/// Applies a row to its course (`existing`, or a new external course of the vendor): a new
/// course takes the row's title and page; an existing course is never renamed and its page
/// only gains fields it lacks; the run is created, or updated when a date (by day) moved or
/// it was deactivated; a new or changed price adds a price version. `topics` are the topic
/// names that exist (a category is attached only when it names one).
pub fn merge(
    existing: Option<CourseRecord>,
    row: &ExternalRun,
    vendor: Vendor,
    topics: &[String],
    stats: &mut Stats,
) -> CourseRecord {
    let mut course = match existing {
        Some(course) => {
            stats.existing_courses.insert(row.course_code.clone());
            course
        }
        None => {
            stats.courses_created.insert(row.course_code.clone());
            CourseRecord {
                id: None,
                site: Site::Xpro,
                readable_id: row.readable_id.clone(),
                title: row.title.clone(),
                live: true,
                platform: Some(vendor.platform().to_string()),
                language: Some(row.language.clone()),
                is_external: true,
                departments: Vec::new(),
                topics: Vec::new(),
                blocked_countries: Vec::new(),
                instructors: Vec::new(),
                page: None,
                runs: Vec::new(),
            }
        }
    };
    merge_page(&mut course, row, vendor, stats);
    if let Some(topic) = row
        .category
        .as_ref()
        .and_then(|c| topics.iter().find(|t| t.eq_ignore_ascii_case(c)))
        && !course.topics.contains(topic)
    {
        course.topics.push(topic.clone());
    }
    let run = match course
        .runs
        .iter_mut()
        .position(|r| r.courseware_id == row.courseware_id)
    {
        Some(index) => {
            let run = &mut course.runs[index];
            let by_day = |d: Option<DateTime<Utc>>| d.map(|d| d.date_naive());
            let moved = by_day(run.start_date) != by_day(row.start)
                || by_day(run.end_date) != by_day(row.end)
                || by_day(run.enrollment_end) != by_day(row.enrollment_end);
            if moved || !run.live {
                run.start_date = row.start;
                run.end_date = row.end;
                run.enrollment_end = row.enrollment_end;
                run.live = true;
                stats.course_runs_updated.insert(row.run_code.clone());
            }
            run
        }
        None => {
            stats.course_runs_created.insert(row.run_code.clone());
            course.runs.push(RunRecord {
                id: None,
                courseware_id: row.courseware_id.clone(),
                run_tag: row.run_tag.clone(),
                title: row.title.clone(),
                start_date: row.start,
                end_date: row.end,
                enrollment_start: None,
                enrollment_end: row.enrollment_end,
                upgrade_deadline: None,
                expiration_date: None,
                certificate_available_date: None,
                is_self_paced: false,
                live: true,
                courseware_url: None,
                language: "en".to_string(),
                enrollment_modes: Vec::new(),
                instructors: Vec::new(),
                product: None,
            });
            course.runs.last_mut().expect("just pushed")
        }
    };
    match row.price {
        None => {
            stats
                .course_runs_without_prices
                .insert(row.run_code.clone());
        }
        Some(price) => match &mut run.product {
            None => {
                run.product = Some(ProductRecord::priced(price, row.courseware_id.clone()));
                stats.products_created.insert(row.run_code.clone());
                stats.product_versions_created.insert(row.run_code.clone());
            }
            Some(product) => {
                let current = product.prices.last().map(|p| p.price);
                if current != Some(price) || !product.is_active {
                    product.is_active = true;
                    if current != Some(price) {
                        product.prices.push(PriceVersion {
                            price,
                            created_on: None,
                        });
                        stats.product_versions_created.insert(row.run_code.clone());
                    }
                }
            }
        },
    }
    course
}

fn merge_page(course: &mut CourseRecord, row: &ExternalRun, vendor: Vendor, stats: &mut Stats) {
    let duration = (row.weeks > 0).then(|| format!("{} Weeks", row.weeks));
    let weeks = (row.weeks > 0).then_some(row.weeks);
    let description = (!row.description.is_empty()).then(|| row.description.clone());
    let Some(page) = course.page.as_mut() else {
        course.page = Some(PageRecord {
            live: true,
            description: description.or_else(|| Some(vendor.subhead())),
            feature_image: row.image.clone(),
            duration,
            min_weeks: weeks,
            max_weeks: weeks,
            format: row.format.clone(),
            credits_centi: row.ceus_centi,
            external_marketing_url: row.marketing_url.clone(),
            include_in_learn_catalog: true,
            ..PageRecord::default()
        });
        stats.course_pages_created.insert(row.course_code.clone());
        if row.ceus_centi.is_some() {
            stats.certificates_created.insert(row.readable_id.clone());
        }
        return;
    };
    let mut updated = false;
    fill(
        &mut page.external_marketing_url,
        row.marketing_url.as_ref(),
        &mut updated,
    );
    fill(&mut page.duration, duration.as_ref(), &mut updated);
    fill(&mut page.min_weeks, weeks.as_ref(), &mut updated);
    fill(&mut page.max_weeks, weeks.as_ref(), &mut updated);
    fill(&mut page.description, description.as_ref(), &mut updated);
    fill(&mut page.feature_image, row.image.as_ref(), &mut updated);
    if updated {
        stats.course_pages_updated.insert(row.course_code.clone());
    }
    // CEUs follow the vendor (xPRO's certificate page is created or updated).
    if row.ceus_centi.is_some() && page.credits_centi != row.ceus_centi {
        if page.credits_centi.is_none() {
            stats.certificates_created.insert(row.readable_id.clone());
        } else {
            stats.certificates_updated.insert(row.readable_id.clone());
        }
        page.credits_centi = row.ceus_centi;
    }
}

/// Live runs of the vendor's course that the feed no longer lists and that are still
/// current (not ended, enrollment not closed) are taken down with their product (xPRO
/// `deactivate_missing_course_runs`). The courseware ids of the runs taken down (the feed
/// no longer names their vendor codes).
pub fn deactivate_missing(
    course: &mut CourseRecord,
    listed: &BTreeSet<String>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let mut taken_down = Vec::new();
    for run in &mut course.runs {
        let current =
            run.end_date.is_none_or(|e| e > now) && run.enrollment_end.is_none_or(|e| e > now);
        if run.live && current && !listed.contains(&run.courseware_id) {
            run.live = false;
            if let Some(product) = run.product.as_mut() {
                product.is_active = false;
            }
            taken_down.push(run.courseware_id.clone());
        }
    }
    taken_down
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 12, 0, 0).unwrap()
    }

    fn row(changes: Value) -> Map<String, Value> {
        let mut row = json!({
            "program_name": "  Product Design  ",
            "course_code": "MXP-PDD.ONL",
            "course_run_code": "MXP-PDD.ONL-27-01#2",
            "list_price": "3150",
            "list_currency": "USD",
            "start_date": "2027-01-10",
            "end_date": "2027-03-10",
            "landing_page_url": "https://vendor.example.com/pdd/?utm_source=xpro#top",
            "total_weeks": 8,
            "ceu": "2.4",
            "Category": "technology",
        });
        for (k, v) in changes.as_object().unwrap() {
            row[k] = v.clone();
        }
        row.as_object().unwrap().clone()
    }

    #[test]
    fn a_row_maps_to_ids_dates_price_and_page_fields_as_xpro_maps_them() {
        let run = parse(&row(json!({})), now()).unwrap();
        assert_eq!(run.title, "Product Design");
        assert_eq!(run.readable_id, "course-v1:xPRO+PDD_ONL");
        assert_eq!(run.run_tag, "27-01-2");
        assert_eq!(run.courseware_id, "course-v1:xPRO+PDD_ONL+27-01-2");
        assert_eq!(run.price, Some(Money::from_minor(315_000)));
        assert_eq!(run.end.unwrap().to_rfc3339(), "2027-03-10T23:59:00+00:00");
        assert_eq!(
            run.enrollment_end,
            Some(run.start.unwrap() + Duration::days(7)),
            "without an enrollment end, a week after the start"
        );
        assert_eq!(
            run.marketing_url.as_deref(),
            Some("https://vendor.example.com/pdd/")
        );
        assert_eq!((run.weeks, run.ceus_centi), (8, Some(240)));
        assert_eq!(run.language, "English");
        let given = parse(&row(json!({"enrollment_end_date": "2027-01-05"})), now()).unwrap();
        assert_eq!(
            given.enrollment_end.unwrap().to_rfc3339(),
            "2027-01-05T00:00:00+00:00"
        );
    }

    #[test]
    fn rows_with_bad_data_or_dates_are_skipped_with_the_reason() {
        let bad = |changes: Value| parse(&row(changes), now()).unwrap_err();
        for (changes, reason) in [
            (json!({"program_name": " "}), "course_title is missing"),
            (
                json!({"course_run_code": null}),
                "course_run_code is missing",
            ),
            (json!({"list_currency": "EUR"}), "currency EUR is not USD"),
            (
                json!({"course_code": "PDD"}),
                "course code \"PDD\" is not <MXP|MO>-<TAG>",
            ),
            (
                json!({"course_run_code": "MXP-PDD-R1"}),
                "run code \"MXP-PDD-R1\" does not end in YY-MM#N",
            ),
            (
                json!({"list_price": "lots"}),
                "list_price \"lots\" is not an amount",
            ),
        ] {
            assert_eq!(bad(changes), Skip::BadData(reason.into()));
        }
        for (changes, reason) in [
            (
                json!({"start_date": null, "enrollment_end_date": null}),
                "a start date or an enrollment end is required",
            ),
            (
                json!({"start_date": "2026-01-01", "end_date": "2026-12-01"}),
                "the start date or the enrollment end must lie ahead",
            ),
            (
                json!({"end_date": "2027-01-01"}),
                "the start date is after the end date",
            ),
            (
                json!({"start_date": null, "enrollment_end_date": "2026-12-01", "end_date": "2026-11-01"}),
                "the end date has passed",
            ),
        ] {
            assert_eq!(bad(changes), Skip::InvalidDates(reason.into()));
        }
        assert_eq!(
            parse(&row(json!({"list_price": null})), now())
                .unwrap()
                .price,
            None
        );
        let script = parse(
            &row(json!({"landing_page_url": "javascript:alert(1)"})),
            now(),
        )
        .unwrap();
        assert_eq!(
            script.marketing_url, None,
            "only web addresses are linked to"
        );
    }

    #[test]
    fn a_new_course_is_external_live_and_links_out_with_a_priced_run() {
        let mut stats = Stats::default();
        let run = parse(&row(json!({})), now()).unwrap();
        let topics = vec!["Technology".to_string()];
        let course = merge(None, &run, Vendor::Emeritus, &topics, &mut stats);
        assert!(course.is_external && course.live);
        assert_eq!(course.platform.as_deref(), Some("Emeritus"));
        assert_eq!(
            course.topics, topics,
            "the category names a topic, case aside"
        );
        let page = course.page.as_ref().unwrap();
        assert_eq!(page.duration.as_deref(), Some("8 Weeks"));
        assert_eq!(page.credits_centi, Some(240));
        let product = course.runs[0].product.as_ref().unwrap();
        assert_eq!(product.description, run.courseware_id);
        assert_eq!(stats.courses_created.len(), 1);
        assert_eq!(stats.course_runs_created.len(), 1);
        assert_eq!(stats.products_created.len(), 1);
        let unknown = merge(None, &run, Vendor::Emeritus, &[], &mut Stats::default());
        assert!(
            unknown.topics.is_empty(),
            "an unknown category adds no topic"
        );
    }

    #[test]
    fn an_existing_course_keeps_its_title_and_edits_while_runs_and_prices_follow_the_vendor() {
        let run = parse(&row(json!({})), now()).unwrap();
        let mut course = merge(None, &run, Vendor::Emeritus, &[], &mut Stats::default());
        course.title = "Renamed by staff".into();
        let page = course.page.as_mut().unwrap();
        page.duration = Some("Eight weeks, part time".into());
        page.external_marketing_url = None;

        let mut stats = Stats::default();
        let same = merge(
            Some(course.clone()),
            &run,
            Vendor::Emeritus,
            &[],
            &mut stats,
        );
        assert_eq!(same.title, "Renamed by staff");
        let page = same.page.as_ref().unwrap();
        assert_eq!(
            page.duration.as_deref(),
            Some("Eight weeks, part time"),
            "filled fields stay"
        );
        assert!(
            page.external_marketing_url.is_some(),
            "empty fields are filled"
        );
        assert!(stats.course_runs_updated.is_empty() && stats.product_versions_created.is_empty());
        assert_eq!(stats.course_pages_updated.len(), 1);

        let moved = parse(
            &row(json!({"start_date": "2027-01-17", "list_price": "2999.50", "ceu": "3"})),
            now(),
        )
        .unwrap();
        let mut stats = Stats::default();
        let updated = merge(Some(same), &moved, Vendor::Emeritus, &[], &mut stats);
        assert_eq!(updated.runs[0].start_date, moved.start);
        let prices = &updated.runs[0].product.as_ref().unwrap().prices;
        assert_eq!(prices.len(), 2, "a new price is a new version");
        assert_eq!(prices[1].price, Money::from_minor(299_950));
        assert_eq!(stats.course_runs_updated.len(), 1);
        assert_eq!(stats.certificates_updated.len(), 1);
    }

    #[test]
    fn runs_gone_from_the_feed_are_taken_down_unless_already_over() {
        let run = parse(&row(json!({})), now()).unwrap();
        let mut course = merge(None, &run, Vendor::Emeritus, &[], &mut Stats::default());
        let mut finished = course.runs[0].clone();
        finished.courseware_id = "course-v1:xPRO+PDD_ONL+25-01-1".into();
        finished.end_date = Some(now() - Duration::days(30));
        course.runs.push(finished);
        let listed = BTreeSet::from([run.courseware_id.clone()]);
        assert!(deactivate_missing(&mut course, &listed, now()).is_empty());
        let taken = deactivate_missing(&mut course, &BTreeSet::new(), now());
        assert_eq!(
            taken,
            vec![run.courseware_id.clone()],
            "the finished run is left as it is"
        );
        assert!(!course.runs[0].live);
        assert!(!course.runs[0].product.as_ref().unwrap().is_active);
        assert!(course.runs[1].live);
    }
}
