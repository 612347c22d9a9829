//! Programs: xPRO bundles of related courses and MITx Online requirement trees with
//! electives and nested programs, with their pages, runs and prices.

use chrono::TimeDelta;
use domain::Money;
use domain::catalog::requirements::{Operator, RequirementNode};
use domain::catalog::{
    Catalog, CourseRecord, Instructor, PageRecord, ProductRecord, ProgramRecord, ProgramRunRecord,
    Reference, RequirementRecord, RunRecord, Site,
};

use super::data::{DEPARTMENTS, XPRO_SUBJECTS};
use super::{
    Generator, Instant, current_run_price, enrollment_modes, feature_image, numbered_title,
    price_version, signatories, site_of,
};

/// What distinguishes one program from another; the rest of its record follows from this.
struct ProgramPlan {
    readable_id: String,
    title: String,
    program_type: &'static str,
    departments: Vec<String>,
    requirements: Vec<RequirementRecord>,
    /// Every course the tree names, in tree order.
    courses: Vec<usize>,
    /// The courses a learner pays for to finish: the required ones and just enough electives.
    priced: Vec<usize>,
}

impl Generator {
    pub(super) fn program(&mut self, index: usize, catalog: &Catalog) -> ProgramRecord {
        let site = site_of(index);
        let ordinal = catalog.programs.iter().filter(|p| p.site == site).count();
        let plan = match site {
            Site::Xpro => self.xpro_plan(ordinal, &catalog.courses),
            Site::Mitxonline => self.mitx_plan(ordinal, catalog),
        };
        let courses: Vec<&CourseRecord> =
            plan.courses.iter().map(|&i| &catalog.courses[i]).collect();
        let list_price = Money::from_minor(
            plan.priced
                .iter()
                .filter_map(|&i| current_price(&catalog.courses[i]))
                .map(|price| price.minor)
                .sum(),
        );
        let mut page = PageRecord {
            live: true,
            description: Some(program_description(&plan.title, &courses)),
            feature_image: Some(feature_image(index)),
            duration: Some(format!("{} courses", courses.len())),
            time_commitment: courses
                .first()
                .and_then(|course| course.page.as_ref()?.time_commitment.clone()),
            ..PageRecord::default()
        };
        page.signatories = signatories(site, &program_instructors(&courses));
        let mut record = ProgramRecord {
            id: None,
            site,
            readable_id: plan.readable_id,
            title: plan.title,
            live: true,
            program_type: plan.program_type.to_string(),
            platform: None,
            language: None,
            is_external: false,
            availability: None,
            display_mode: None,
            b2b_only: false,
            start_date: None,
            end_date: None,
            enrollment_start: None,
            enrollment_end: None,
            enrollment_modes: Vec::new(),
            departments: plan.departments,
            instructors: program_instructors(&courses),
            page: None,
            product: None,
            runs: Vec::new(),
            requirements: plan.requirements,
        };
        match site {
            Site::Xpro => {
                page.format = Some("Online".to_string());
                page.credits_centi = Some(
                    courses
                        .iter()
                        .filter_map(|course| course.page.as_ref()?.credits_centi)
                        .sum(),
                );
                record.platform = Some("xPRO".to_string());
                record.language = Some("English".to_string());
                // xPRO sells a program as one of its runs (`…+R1`).
                let (start_date, end_date) = upcoming_span(&courses, self.base);
                record.runs = vec![ProgramRunRecord {
                    run_tag: "R1".to_string(),
                    start_date,
                    end_date,
                }];
                // The bundle sells at about 15% off its courses, in whole $50 steps.
                let bundle = list_price.minor * 85 / 100 / 5_000 * 5_000;
                record.product = Some(ProductRecord {
                    id: None,
                    is_active: true,
                    description: record.readable_id.clone(),
                    prices: vec![price_version(
                        bundle.max(99_900) / 100,
                        self.base - TimeDelta::days(90),
                    )],
                });
            }
            Site::Mitxonline => {
                page.price_text = Some(dollars(list_price));
                page.list_price = Some(list_price);
                page.include_in_learn_catalog = self.rng.chance(5, 6);
                record.enrollment_modes = enrollment_modes();
                let dated = self.rng.chance(1, 3);
                record.availability = Some(if dated { "dated" } else { "anytime" }.to_string());
                if dated {
                    (record.start_date, record.end_date) = upcoming_span(&courses, self.base);
                }
            }
        }
        record.page = Some(page);
        record
    }

    fn xpro_plan(&mut self, ordinal: usize, courses: &[CourseRecord]) -> ProgramPlan {
        let theme = ordinal % XPRO_SUBJECTS.len();
        let part = ordinal / XPRO_SUBJECTS.len() + 1;
        let subject = &XPRO_SUBJECTS[theme];
        let wanted = 2 + self.rng.below(3);
        let chosen: Vec<usize> = self
            .course_pool(Site::Xpro, theme, courses)
            .into_iter()
            .take(wanted)
            .collect();
        ProgramPlan {
            readable_id: format!("program-v1:xPRO+{}", numbered_code(subject.program, part)),
            title: numbered_title(
                &format!("Professional Certificate Program in {}", subject.name),
                part,
            ),
            program_type: "Series",
            departments: Vec::new(),
            requirements: ProgramRecord::all_of_courses(
                chosen.iter().map(|&i| courses[i].readable_id.clone()),
            ),
            priced: chosen.clone(),
            courses: chosen,
        }
    }

    fn mitx_plan(&mut self, ordinal: usize, catalog: &Catalog) -> ProgramPlan {
        let theme = ordinal % DEPARTMENTS.len();
        let part = ordinal / DEPARTMENTS.len() + 1;
        let department = &DEPARTMENTS[theme];
        let pool = self.course_pool(Site::Mitxonline, theme, &catalog.courses);
        let required_count = (2 + self.rng.below(2)).min(pool.len());
        let (required, rest) = pool.split_at(required_count);
        // The first program always has electives so that every demo shows the group.
        let elective_count = if ordinal == 0 || self.rng.chance(2, 3) {
            (2 + self.rng.below(3)).min(rest.len())
        } else {
            0
        };
        let electives = &rest[..elective_count];
        let mut required_children: Vec<RequirementRecord> = required
            .iter()
            .map(|&i| course_leaf(&catalog.courses[i]))
            .collect();
        let mut elective_children: Vec<RequirementRecord> = electives
            .iter()
            .map(|&i| course_leaf(&catalog.courses[i]))
            .collect();
        // The second program always nests another so that catalogs of three or more programs
        // show nesting. Only programs generated earlier are named, which keeps the
        // "requires" graph acyclic.
        if ordinal == 1 || (ordinal > 1 && self.rng.chance(1, 4)) {
            let earlier: Vec<&ProgramRecord> = catalog
                .programs
                .iter()
                .filter(|program| program.site == Site::Mitxonline)
                .collect();
            let nested = RequirementNode::Program {
                program: Reference::ReadableId {
                    readable_id: self.rng.pick(&earlier).readable_id.clone(),
                },
            };
            if !elective_children.is_empty() && self.rng.chance(1, 2) {
                elective_children.push(nested);
            } else {
                required_children.push(nested);
            }
        }
        let mut requirements = vec![RequirementNode::Operator {
            operator: Operator::AllOf,
            title: Some("Required Courses".to_string()),
            elective: false,
            children: required_children,
        }];
        let mut priced = required.to_vec();
        if !elective_children.is_empty() {
            let offered = elective_children.len();
            let count = if offered >= 2 {
                1 + self.rng.below(offered - 1)
            } else {
                offered
            };
            priced.extend(electives.iter().take(count));
            requirements.push(RequirementNode::Operator {
                operator: Operator::MinNumberOf {
                    count: count as u32,
                },
                title: Some("Elective Courses".to_string()),
                elective: true,
                children: elective_children,
            });
        }
        ProgramPlan {
            readable_id: format!(
                "program-v1:MITx+{}",
                numbered_code(department.program, part)
            ),
            title: numbered_title(department.program_title, part),
            program_type: if department.micromasters && part == 1 {
                "MicroMasters®"
            } else {
                "Series"
            },
            departments: vec![department.name.to_string()],
            requirements,
            courses: required.iter().chain(electives).copied().collect(),
            priced,
        }
    }

    /// The courses of `site` in the order a program should draw them: those on the
    /// program's theme first, then the rest, each group shuffled. Drawing from the front
    /// never repeats a course within one program.
    fn course_pool(&mut self, site: Site, theme: usize, courses: &[CourseRecord]) -> Vec<usize> {
        let (mut pool, mut others): (Vec<usize>, Vec<usize>) = (0..courses.len())
            .filter(|&i| courses[i].site == site)
            .partition(|&i| self.themes[i] == theme);
        self.rng.shuffle(&mut pool);
        self.rng.shuffle(&mut others);
        pool.extend(others);
        pool
    }
}

fn numbered_code(code: &str, part: usize) -> String {
    if part == 1 {
        code.to_string()
    } else {
        format!("{code}{part}")
    }
}

/// What a learner pays for the course today: the current price of its latest run.
fn current_price(course: &CourseRecord) -> Option<Money> {
    course.runs.iter().rev().find_map(current_run_price)
}

fn course_leaf(course: &CourseRecord) -> RequirementRecord {
    RequirementNode::Course {
        course: Reference::ReadableId {
            readable_id: course.readable_id.clone(),
        },
    }
}

/// A program's faculty list names each course's lead instructor once.
fn program_instructors(courses: &[&CourseRecord]) -> Vec<Instructor> {
    let mut instructors: Vec<Instructor> = Vec::new();
    for lead in courses
        .iter()
        .filter_map(|course| course.instructors.first())
    {
        if !instructors.iter().any(|i| i.name == lead.name) {
            instructors.push(lead.clone());
        }
    }
    instructors
}

fn program_description(title: &str, courses: &[&CourseRecord]) -> String {
    let mut description = format!(
        "<p>{title} brings together courses taught by MIT faculty, taken one at a time or \
         alongside a cohort, and ends with a program certificate.</p>"
    );
    if !courses.is_empty() {
        let titles: Vec<&str> = courses.iter().map(|course| course.title.as_str()).collect();
        description.push_str(&format!("<p>Courses include {}.</p>", titles.join(", ")));
    }
    description
}

/// A dated program runs from the earliest upcoming run of its courses to the last end of
/// those runs.
fn upcoming_span(courses: &[&CourseRecord], now: Instant) -> (Option<Instant>, Option<Instant>) {
    let upcoming: Vec<&RunRecord> = courses
        .iter()
        .copied()
        .flat_map(|course| &course.runs)
        .filter(|run| run.live && run.start_date.is_some_and(|start| start > now))
        .collect();
    (
        upcoming.iter().filter_map(|run| run.start_date).min(),
        upcoming.iter().filter_map(|run| run.end_date).max(),
    )
}

/// "$1,250", the way program pages print a price.
pub(super) fn dollars(money: Money) -> String {
    let digits = (money.minor / 100).to_string();
    let mut text = String::from("$");
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            text.push(',');
        }
        text.push(digit);
    }
    text
}
