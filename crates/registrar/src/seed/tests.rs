//! Tests of the synthetic catalog: counts, ids, requirement trees, run schedules, dates
//! and prices, and that the same arguments give the same catalog.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{TimeDelta, TimeZone, Timelike};
use domain::catalog::requirements::{
    Operator, RequirementNode, course_leaves, find_cycle, program_leaves, validate,
};
use domain::catalog::{CourseRecord, FORMAT, Reference, RunWindow};
use domain::{CoursewareId, ReadableId};

use super::programs::dollars;
use super::*;

/// Deliberately not on a minute boundary, to check the truncation.
fn now() -> Instant {
    Utc.with_ymd_and_hms(2026, 11, 21, 12, 34, 56).unwrap() + TimeDelta::milliseconds(789)
}

fn demo() -> Catalog {
    synthetic_catalog(now(), 48, 12)
}

fn window(run: &RunRecord) -> RunWindow {
    RunWindow {
        live: run.live,
        start: run.start_date,
        end: run.end_date,
        enrollment_start: run.enrollment_start,
        enrollment_end: run.enrollment_end,
        upgrade_deadline: run.upgrade_deadline,
    }
}

fn readable(reference: &Reference) -> &str {
    match reference {
        Reference::ReadableId { readable_id } => readable_id,
        Reference::Id { id } => panic!("leaves should name records by readable id, got {id}"),
    }
}

fn all_runs(catalog: &Catalog) -> impl Iterator<Item = (&CourseRecord, &RunRecord)> {
    catalog
        .courses
        .iter()
        .flat_map(|course| course.runs.iter().map(move |run| (course, run)))
}

#[test]
fn produces_the_requested_counts_on_both_storefronts() {
    for (courses, programs) in [(0, 0), (1, 1), (2, 3), (5, 0), (48, 12), (500, 50)] {
        let catalog = synthetic_catalog(now(), courses, programs);
        assert_eq!(catalog.format, FORMAT);
        assert_eq!(catalog.courses.len(), courses);
        assert_eq!(catalog.programs.len(), programs);
        for course in &catalog.courses {
            assert!(
                (1..=4).contains(&course.runs.len()),
                "{}",
                course.readable_id
            );
            assert!((1..=3).contains(&course.instructors.len()));
        }
    }
    let catalog = demo();
    let xpro = |site: Site| site == Site::Xpro;
    assert_eq!(catalog.courses.iter().filter(|c| xpro(c.site)).count(), 16);
    assert_eq!(catalog.programs.iter().filter(|p| xpro(p.site)).count(), 4);
    assert!(
        catalog
            .programs
            .iter()
            .any(|p| p.program_type == "MicroMasters®")
    );
}

#[test]
fn ids_are_unique_well_formed_and_unassigned() {
    for catalog in [demo(), synthetic_catalog(now(), 500, 50)] {
        let mut readable_ids = BTreeSet::new();
        let mut courseware_ids = BTreeSet::new();
        for course in &catalog.courses {
            ReadableId::parse(course.readable_id.as_str()).unwrap();
            assert!(
                readable_ids.insert(course.readable_id.as_str()),
                "duplicate {}",
                course.readable_id
            );
            let org = match course.site {
                Site::Xpro => "xPRO",
                Site::Mitxonline => "MITxT",
            };
            assert!(course.readable_id.starts_with(&format!("course-v1:{org}+")));
            assert_eq!(course.id, None);
            for run in &course.runs {
                let key = CoursewareId::parse(run.courseware_id.as_str()).unwrap();
                assert_eq!(
                    format!("course-v1:{}+{}", key.org(), key.number()),
                    course.readable_id
                );
                assert_eq!(key.run(), run.run_tag);
                assert!(
                    courseware_ids.insert(run.courseware_id.as_str()),
                    "duplicate {}",
                    run.courseware_id
                );
                assert_eq!(run.id, None);
                assert!(run.product.as_ref().is_some_and(|p| p.id.is_none()));
            }
        }
        for program in &catalog.programs {
            ReadableId::parse(program.readable_id.as_str()).unwrap();
            assert!(
                readable_ids.insert(program.readable_id.as_str()),
                "duplicate {}",
                program.readable_id
            );
            let org = match program.site {
                Site::Xpro => "xPRO",
                Site::Mitxonline => "MITx",
            };
            assert!(
                program
                    .readable_id
                    .starts_with(&format!("program-v1:{org}+"))
            );
            assert_eq!(program.id, None);
            assert!(program.product.as_ref().is_none_or(|p| p.id.is_none()));
        }
    }
}

#[test]
fn requirement_trees_are_valid_acyclic_and_resolve_within_the_catalog() {
    for catalog in [
        demo(),
        synthetic_catalog(now(), 500, 50),
        synthetic_catalog(now(), 2, 3),
    ] {
        let course_sites: BTreeMap<&str, Site> = catalog
            .courses
            .iter()
            .map(|c| (c.readable_id.as_str(), c.site))
            .collect();
        let positions: BTreeMap<&str, usize> = catalog
            .programs
            .iter()
            .enumerate()
            .map(|(i, p)| (p.readable_id.as_str(), i))
            .collect();
        let mut edges: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for (position, program) in catalog.programs.iter().enumerate() {
            let name = &program.readable_id;
            assert_eq!(validate(&program.requirements), Ok(()), "{name}");
            let mut seen = BTreeSet::new();
            for leaf in course_leaves(&program.requirements) {
                let id = readable(leaf.reference);
                assert_eq!(
                    course_sites.get(id),
                    Some(&program.site),
                    "{name} requires {id}, which is missing or on the other storefront"
                );
                assert!(seen.insert(id), "{name} names {id} twice");
            }
            for leaf in program_leaves(&program.requirements) {
                let id = readable(leaf.reference);
                let target = *positions
                    .get(id)
                    .unwrap_or_else(|| panic!("{name} requires unknown program {id}"));
                assert!(target < position, "{name} requires a later program {id}");
                edges.entry(position).or_default().push(target);
            }
        }
        assert_eq!(find_cycle(&edges), None);
    }
}

#[test]
fn programs_show_nesting_electives_and_xpro_bundles() {
    for catalog in [demo(), synthetic_catalog(now(), 2, 3)] {
        assert!(
            catalog
                .programs
                .iter()
                .any(|p| !program_leaves(&p.requirements).is_empty()),
            "no nested program among {} programs",
            catalog.programs.len()
        );
    }
    let catalog = demo();
    let elective_groups: Vec<(u32, usize)> = catalog
        .programs
        .iter()
        .flat_map(|program| &program.requirements)
        .filter_map(|node| match node {
            RequirementNode::Operator {
                operator: Operator::MinNumberOf { count },
                title,
                elective: true,
                children,
            } if title.as_deref() == Some("Elective Courses") => Some((*count, children.len())),
            _ => None,
        })
        .collect();
    assert!(!elective_groups.is_empty());
    assert!(
        elective_groups
            .iter()
            .all(|&(count, children)| count >= 1 && (count as usize) <= children)
    );
    for program in &catalog.programs {
        let page = program.page.as_ref().expect("every program has a page");
        assert!(page.live);
        assert!(
            page.description
                .as_deref()
                .is_some_and(|d| d.starts_with("<p>"))
        );
        match program.site {
            Site::Xpro => {
                let courses = course_leaves(&program.requirements).len();
                assert!((2..=4).contains(&courses), "{}", program.readable_id);
                let price = program.product.as_ref().and_then(|p| p.prices.last());
                assert!(price.is_some_and(|v| v.price.minor >= 99_900));
                assert_eq!(program.platform.as_deref(), Some("xPRO"));
            }
            Site::Mitxonline => {
                assert_eq!(program.enrollment_modes, ["audit", "verified"]);
                assert!(
                    page.price_text
                        .as_deref()
                        .is_some_and(|t| t.starts_with('$'))
                );
                assert!(page.list_price.is_some());
                assert!(matches!(
                    program.availability.as_deref(),
                    Some("anytime" | "dated")
                ));
                assert_eq!(program.departments.len(), 1);
            }
        }
    }
}

#[test]
fn runs_fall_before_during_and_after_now() {
    let catalog = demo();
    let now = now();
    let windows: Vec<(Site, RunWindow)> = all_runs(&catalog)
        .map(|(course, run)| (course.site, window(run)))
        .collect();
    let any = |check: fn(&RunWindow, Instant) -> bool| {
        windows.iter().any(|(_, window)| check(window, now))
    };
    assert!(any(|w, now| w.is_past(now)), "no ended run");
    assert!(
        any(|w, now| w.start.is_some_and(|s| s <= now)
            && w.end.is_some_and(|e| e > now)
            && w.is_enrollable(now)),
        "no run in progress with enrollment open"
    );
    assert!(
        any(|w, now| w.start.is_some_and(|s| s > now) && w.is_enrollable(now)),
        "no future run open for enrollment"
    );
    assert!(
        any(|w, now| w.live && w.start.is_some_and(|s| s > now) && !w.is_enrollable(now)),
        "no announced run awaiting enrollment"
    );
    assert!(any(|w, _| !w.live), "no unpublished run");
    assert!(
        all_runs(&catalog).any(|(_, run)| run.is_self_paced && run.end_date.is_none()),
        "no self-paced run"
    );
    assert!(
        windows
            .iter()
            .any(|(site, w)| *site == Site::Xpro && w.is_unexpired(now)),
        "the xPRO catalog would be empty"
    );
}

#[test]
fn dates_are_whole_minutes_coherent_and_prices_in_range() {
    let now = now();
    let catalog = synthetic_catalog(now, 500, 50);
    for (course, run) in all_runs(&catalog) {
        let dates = [
            run.start_date,
            run.end_date,
            run.enrollment_start,
            run.enrollment_end,
            run.upgrade_deadline,
            run.certificate_available_date,
            run.expiration_date,
        ];
        for date in dates.into_iter().flatten() {
            assert_eq!((date.second(), date.nanosecond()), (0, 0), "{date}");
        }
        let start = run.start_date.expect("every run is dated");
        assert!(run.enrollment_start.is_some_and(|s| s <= start));
        assert!(run.end_date.is_none_or(|end| end > start));
        if let (Some(deadline), Some(end)) = (run.upgrade_deadline, run.end_date) {
            assert!(deadline <= end);
        }
        assert_eq!(run.instructors, course.instructors);
        let (low, high) = match course.site {
            Site::Xpro => (99_900, 299_900),
            Site::Mitxonline => (4_900, 100_000),
        };
        let product = run.product.as_ref().expect("every run is sold");
        assert!(!product.prices.is_empty());
        for version in &product.prices {
            assert!(
                (low..=high).contains(&version.price.minor),
                "{}",
                run.courseware_id
            );
            let created_on = version.created_on.expect("price versions are dated");
            assert_eq!((created_on.second(), created_on.nanosecond()), (0, 0));
            assert!(created_on < now);
        }
        assert!(
            product
                .prices
                .windows(2)
                .all(|pair| pair[0].created_on < pair[1].created_on)
        );
    }
    for course in &catalog.courses {
        let page = course.page.as_ref().expect("every course has a page");
        assert!(page.live);
        if course.site == Site::Mitxonline {
            assert!(page.min_price.is_some() && page.min_price <= page.max_price);
        } else {
            assert!(page.credits_centi.is_some_and(|c| c > 0));
        }
    }
    assert!(
        all_runs(&demo()).any(|(_, run)| run.product.as_ref().is_some_and(|p| p.prices.len() == 2)),
        "no price history in the demo"
    );
}

#[test]
fn generation_is_deterministic() {
    assert_eq!(demo(), demo());
    assert_eq!(
        synthetic_catalog(now(), 500, 50),
        synthetic_catalog(now(), 500, 50)
    );
    let readable_ids = |catalog: &Catalog| -> Vec<String> {
        let courses = catalog.courses.iter().map(|c| c.readable_id.clone());
        courses
            .chain(catalog.programs.iter().map(|p| p.readable_id.clone()))
            .collect()
    };
    let later = synthetic_catalog(now() + TimeDelta::days(45), 48, 12);
    assert_eq!(readable_ids(&later), readable_ids(&demo()));
}

#[test]
fn dollars_groups_thousands() {
    assert_eq!(dollars(Money::from_minor(75_000)), "$750");
    assert_eq!(dollars(Money::from_minor(125_000)), "$1,250");
    assert_eq!(dollars(Money::from_minor(123_456_700)), "$1,234,567");
    assert_eq!(dollars(Money::ZERO), "$0");
}
