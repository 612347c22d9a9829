//! xPRO catalog API payloads (`courses/serializers.py` CourseSerializer / ProgramSerializer).

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ImportError, Named, Numberish, instructors, names, numberish, parse_items, to_centi, to_int,
    to_money,
};
use crate::catalog::snapshot::*;

#[derive(Debug, Deserialize)]
struct PageFields {
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    thumbnail_url: Option<String>,
    #[serde(default)]
    external_marketing_url: Option<String>,
    #[serde(default)]
    marketing_hubspot_form_id: Option<String>,
    #[serde(default)]
    time_commitment: Option<String>,
    #[serde(default, deserialize_with = "numberish")]
    min_weekly_hours: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    max_weekly_hours: Option<Numberish>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default, deserialize_with = "numberish")]
    min_weeks: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    max_weeks: Option<Numberish>,
    #[serde(default)]
    format: Option<String>,
    #[serde(default)]
    video_url: Option<String>,
    #[serde(default, deserialize_with = "numberish")]
    credits: Option<Numberish>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    platform: Option<String>,
    #[serde(default)]
    is_external: bool,
    #[serde(default)]
    topics: Option<Vec<Named>>,
}

impl PageFields {
    fn page(&self) -> PageRecord {
        PageRecord {
            live: true,
            description: self.description.clone(),
            feature_image: self.thumbnail_url.clone(),
            duration: self.duration.clone(),
            time_commitment: self.time_commitment.clone(),
            min_weeks: to_int(&self.min_weeks),
            max_weeks: to_int(&self.max_weeks),
            min_weekly_hours: to_int(&self.min_weekly_hours),
            max_weekly_hours: to_int(&self.max_weekly_hours),
            format: self.format.clone(),
            video_url: self.video_url.clone(),
            credits_centi: to_centi(&self.credits),
            external_marketing_url: self.external_marketing_url.clone(),
            marketing_hubspot_form_id: self.marketing_hubspot_form_id.clone(),
            ..PageRecord::default()
        }
    }
}

#[derive(Debug, Deserialize)]
struct Run {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    courseware_id: String,
    #[serde(default)]
    run_tag: Option<String>,
    #[serde(default)]
    start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    end_date: Option<DateTime<Utc>>,
    #[serde(default)]
    enrollment_start: Option<DateTime<Utc>>,
    #[serde(default)]
    enrollment_end: Option<DateTime<Utc>>,
    #[serde(default)]
    expiration_date: Option<DateTime<Utc>>,
    #[serde(default)]
    courseware_url: Option<String>,
    #[serde(default)]
    product_id: Option<i64>,
    #[serde(default, deserialize_with = "numberish")]
    current_price: Option<Numberish>,
    #[serde(default)]
    instructors: Vec<Named>,
}

#[derive(Debug, Deserialize)]
struct Course {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    readable_id: String,
    #[serde(default)]
    courseruns: Vec<Run>,
    #[serde(flatten)]
    page: PageFields,
}

#[derive(Debug, Deserialize)]
struct Program {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    readable_id: String,
    #[serde(default, deserialize_with = "numberish")]
    current_price: Option<Numberish>,
    #[serde(default)]
    courses: Vec<Course>,
    #[serde(default)]
    instructors: Vec<Named>,
    #[serde(flatten)]
    page: PageFields,
}

fn run_tag(run: &Run) -> String {
    run.run_tag.clone().unwrap_or_else(|| {
        run.courseware_id
            .rsplit('+')
            .next()
            .unwrap_or_default()
            .to_string()
    })
}

fn course(course: Course) -> Result<CourseRecord, ImportError> {
    let mut course_instructors: Vec<Instructor> = Vec::new();
    let mut runs = Vec::with_capacity(course.courseruns.len());
    for run in course.courseruns {
        let what = format!("course {} run {}", course.readable_id, run.courseware_id);
        let price = to_money(&run.current_price, &what)?;
        let run_instructors = instructors(&run.instructors);
        for instructor in &run_instructors {
            if !course_instructors.iter().any(|i| i.name == instructor.name) {
                course_instructors.push(instructor.clone());
            }
        }
        runs.push(RunRecord {
            id: run.id,
            run_tag: run_tag(&run),
            courseware_id: run.courseware_id,
            title: run.title,
            start_date: run.start_date,
            end_date: run.end_date,
            enrollment_start: run.enrollment_start,
            enrollment_end: run.enrollment_end,
            upgrade_deadline: None,
            expiration_date: run.expiration_date,
            certificate_available_date: None,
            is_self_paced: false,
            live: true,
            courseware_url: run.courseware_url,
            language: "en".to_string(),
            enrollment_modes: Vec::new(),
            instructors: run_instructors,
            product: product(run.product_id, price),
        });
    }
    Ok(CourseRecord {
        id: course.id,
        site: Site::Xpro,
        readable_id: course.readable_id,
        title: course.title,
        live: true,
        platform: course.page.platform.clone(),
        language: course.page.language.clone(),
        is_external: course.page.is_external,
        departments: Vec::new(),
        topics: names(&course.page.topics),
        blocked_countries: Vec::new(),
        instructors: course_instructors,
        page: Some(course.page.page()),
        runs,
    })
}

fn product(id: Option<i64>, price: Option<crate::Money>) -> Option<ProductRecord> {
    match (id, price) {
        (None, None) => None,
        (id, price) => Some(ProductRecord {
            id,
            is_active: true,
            description: String::new(),
            prices: price
                .map(|price| PriceVersion {
                    price,
                    created_on: None,
                })
                .into_iter()
                .collect(),
        }),
    }
}

pub(super) fn courses(items: Vec<Value>) -> Result<Catalog, ImportError> {
    let courses = parse_items::<Course>(items, "course")?
        .into_iter()
        .map(course)
        .collect::<Result<_, _>>()?;
    Ok(Catalog {
        courses,
        ..Catalog::default()
    })
}

pub(super) fn programs(items: Vec<Value>) -> Result<Catalog, ImportError> {
    let mut catalog = Catalog::default();
    for program in parse_items::<Program>(items, "program")? {
        let what = format!("program {}", program.readable_id);
        let price = to_money(&program.current_price, &what)?;
        let course_ids: Vec<String> = program
            .courses
            .iter()
            .map(|c| c.readable_id.clone())
            .collect();
        for embedded in program.courses {
            catalog.courses.push(course(embedded)?);
        }
        catalog.programs.push(ProgramRecord {
            id: program.id,
            site: Site::Xpro,
            readable_id: program.readable_id,
            title: program.title,
            live: true,
            program_type: "Series".to_string(),
            platform: program.page.platform.clone(),
            language: program.page.language.clone(),
            is_external: program.page.is_external,
            availability: None,
            display_mode: None,
            b2b_only: false,
            start_date: None,
            end_date: None,
            enrollment_start: None,
            enrollment_end: None,
            enrollment_modes: Vec::new(),
            departments: Vec::new(),
            instructors: instructors(&program.instructors),
            page: Some(program.page.page()),
            product: product(None, price),
            runs: Vec::new(),
            requirements: ProgramRecord::all_of_courses(course_ids),
        });
    }
    Ok(catalog)
}
