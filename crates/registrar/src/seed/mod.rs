//! A synthetic catalog for `registrar demo` and the benchmarks: both storefronts, runs on
//! every side of `now`, priced products with some price history, and program trees with
//! electives and nested programs. The generator is deterministic so a demo database and a
//! benchmark input look the same on every machine.
//!
//! The generator and the helpers its parts share are here; `courses` makes each course
//! (its subject, title, page and instructors), `runs` its runs with their schedules and
//! prices, `programs` the programs with their requirement trees, from the fixed word
//! lists and price points in `data` and the number stream in `rng`.

mod courses;
mod data;
mod programs;
mod rng;
mod runs;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use chrono::{DateTime, Timelike, Utc};
use domain::Money;
use domain::catalog::{Catalog, Instructor, PriceVersion, RunRecord, Signatory, Site};

use data::{DEMO_IMAGES, DEPARTMENTS, XPRO_SUBJECTS};
use rng::{Rng, SEED};

type Instant = DateTime<Utc>;

/// Builds `courses` courses and `programs` programs, about a third of each on xPRO and the rest
/// on MITx Online. Dates are placed relative to `now` (truncated to the minute) so the demo
/// always has ended, running, open and announced runs; everything else depends only on the
/// counts, so two calls with the same arguments give equal catalogs.
pub fn synthetic_catalog(now: DateTime<Utc>, courses: usize, programs: usize) -> Catalog {
    let mut generator = Generator::new(now);
    let mut catalog = Catalog::default();
    for index in 0..courses {
        let course = generator.course(index);
        catalog.courses.push(course);
    }
    for index in 0..programs {
        let program = generator.program(index, &catalog);
        catalog.programs.push(program);
    }
    catalog
}

/// Every third record is xPRO, interleaved so that even a tiny catalog has both storefronts.
fn site_of(index: usize) -> Site {
    if index.is_multiple_of(3) {
        Site::Xpro
    } else {
        Site::Mitxonline
    }
}

struct Generator {
    rng: Rng,
    base: Instant,
    xpro_numbers: Vec<u32>,
    department_numbers: Vec<u32>,
    titles: BTreeMap<String, u32>,
    /// The subject (xPRO) or department (MITx Online) index of each course generated so far,
    /// so programs can gather related courses.
    themes: Vec<usize>,
}

impl Generator {
    fn new(now: Instant) -> Self {
        let base = now
            .with_nanosecond(0)
            .and_then(|t| t.with_second(0))
            .expect("second zero exists in every minute");
        Self {
            rng: Rng(SEED),
            base,
            xpro_numbers: vec![0; XPRO_SUBJECTS.len()],
            department_numbers: vec![0; DEPARTMENTS.len()],
            titles: BTreeMap::new(),
            themes: Vec::new(),
        }
    }
}

fn numbered_title(title: &str, part: usize) -> String {
    if part == 1 {
        title.to_string()
    } else {
        format!("{title}: Part {part}")
    }
}

fn feature_image(index: usize) -> String {
    format!("/static/images/demo/{}.jpg", index % DEMO_IMAGES + 1)
}

fn enrollment_modes() -> Vec<String> {
    vec!["audit".to_string(), "verified".to_string()]
}

fn price_version(dollars: i64, created_on: Instant) -> PriceVersion {
    PriceVersion {
        price: Money::from_minor(dollars * 100),
        created_on: Some(created_on),
    }
}

fn current_run_price(run: &RunRecord) -> Option<Money> {
    run.product
        .as_ref()?
        .prices
        .last()
        .map(|version| version.price)
}

/// Who signs the certificates: the lead instructor and the storefront's director.
fn signatories(site: Site, instructors: &[Instructor]) -> Vec<Signatory> {
    let lead = instructors.first().map(|i| Signatory {
        name: i.name.clone(),
        title: Some("Faculty Lead".to_string()),
        organization: Some("Massachusetts Institute of Technology".to_string()),
    });
    let director = Signatory {
        name: "Jordan Rivera".to_string(),
        title: Some("Executive Director".to_string()),
        organization: Some(site.display_name().to_string()),
    };
    lead.into_iter().chain([director]).collect()
}
