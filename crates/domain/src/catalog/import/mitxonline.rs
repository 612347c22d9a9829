//! MITx Online catalog API payloads (`CourseWithCourseRunsSerializerV2`,
//! `V2ProgramDetailSerializer`), including the older `req_tree` that still carried the
//! `program_root` node.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{
    ImportError, Named, Numberish, field_error, instructors, names, numberish, parse_items, to_int,
    to_money,
};
use crate::catalog::requirements::{Operator, RequirementNode};
use crate::catalog::snapshot::*;

#[derive(Debug, Deserialize)]
struct Mode {
    mode_slug: String,
}

#[derive(Debug, Deserialize)]
struct Product {
    id: Option<i64>,
    price: Numberish,
    #[serde(default)]
    description: String,
    #[serde(default = "yes")]
    is_active: bool,
}

fn yes() -> bool {
    true
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
    certificate_available_date: Option<DateTime<Utc>>,
    #[serde(default)]
    upgrade_deadline: Option<DateTime<Utc>>,
    #[serde(default)]
    courseware_url: Option<String>,
    #[serde(default)]
    is_self_paced: bool,
    #[serde(default = "yes")]
    live: bool,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    enrollment_modes: Option<Vec<Mode>>,
    #[serde(default)]
    products: Vec<Product>,
}

#[derive(Debug, Default, Deserialize)]
struct Page {
    #[serde(default)]
    feature_image_src: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    live: bool,
    #[serde(default)]
    length: Option<String>,
    #[serde(default)]
    effort: Option<String>,
    #[serde(default)]
    financial_assistance_form_url: Option<String>,
    #[serde(default)]
    include_in_learn_catalog: Option<bool>,
    #[serde(default)]
    instructors: Vec<Named>,
    #[serde(default)]
    price: Option<String>,
    #[serde(default, deserialize_with = "numberish")]
    list_price: Option<Numberish>,
}

/// The fields a course and a program share (page-derived values repeated at the top level).
#[derive(Debug, Deserialize)]
struct Common {
    #[serde(default)]
    page: Option<Page>,
    #[serde(default)]
    departments: Option<Vec<Named>>,
    #[serde(default)]
    include_in_learn_catalog: Option<bool>,
    #[serde(default)]
    ingest_content_files_for_ai: bool,
    #[serde(default, deserialize_with = "numberish")]
    min_price: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    max_price: Option<Numberish>,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    time_commitment: Option<String>,
    #[serde(default, deserialize_with = "numberish")]
    min_weeks: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    max_weeks: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    min_weekly_hours: Option<Numberish>,
    #[serde(default, deserialize_with = "numberish")]
    max_weekly_hours: Option<Numberish>,
    #[serde(default)]
    required_prerequisites: bool,
}

/// The page text of a prerequisite we only know exists: the APIs serve a flag, not the text.
const PREREQUISITES_APPLY: &str = "Prerequisites apply; see the course page.";

impl Common {
    fn page(&self, what: &str) -> Result<Option<PageRecord>, ImportError> {
        let Some(page) = &self.page else {
            return Ok(None);
        };
        Ok(Some(PageRecord {
            live: page.live,
            description: page.description.clone(),
            feature_image: page.feature_image_src.clone(),
            duration: self.duration.clone().or_else(|| page.length.clone()),
            time_commitment: self.time_commitment.clone().or_else(|| page.effort.clone()),
            min_weeks: to_int(&self.min_weeks),
            max_weeks: to_int(&self.max_weeks),
            min_weekly_hours: to_int(&self.min_weekly_hours),
            max_weekly_hours: to_int(&self.max_weekly_hours),
            min_price: to_money(&self.min_price, what)?,
            max_price: to_money(&self.max_price, what)?,
            financial_assistance_form_url: page
                .financial_assistance_form_url
                .clone()
                .filter(|url| !url.is_empty()),
            include_in_learn_catalog: self
                .include_in_learn_catalog
                .or(page.include_in_learn_catalog)
                .unwrap_or(false),
            ingest_content_files_for_ai: self.ingest_content_files_for_ai,
            prerequisites: self
                .required_prerequisites
                .then(|| PREREQUISITES_APPLY.to_string()),
            price_text: page.price.clone(),
            list_price: to_money(&page.list_price, what)?,
            ..PageRecord::default()
        }))
    }
}

#[derive(Debug, Deserialize)]
struct Course {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    readable_id: String,
    #[serde(default = "yes")]
    live: bool,
    #[serde(default)]
    topics: Option<Vec<Named>>,
    #[serde(default)]
    courseruns: Vec<Option<Run>>,
    #[serde(flatten)]
    common: Common,
}

#[derive(Debug, Deserialize)]
struct NodeData {
    node_type: String,
    #[serde(default)]
    operator: Option<String>,
    #[serde(default)]
    operator_value: Option<String>,
    #[serde(default)]
    course: Option<i64>,
    #[serde(default)]
    required_program: Option<i64>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    elective_flag: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct Node {
    data: NodeData,
    #[serde(default)]
    children: Vec<Node>,
}

#[derive(Debug, Deserialize)]
struct Program {
    #[serde(default)]
    id: Option<i64>,
    title: String,
    readable_id: String,
    #[serde(default = "yes")]
    live: bool,
    #[serde(default)]
    program_type: Option<String>,
    #[serde(default)]
    availability: Option<String>,
    #[serde(default)]
    display_mode: Option<String>,
    #[serde(default)]
    start_date: Option<DateTime<Utc>>,
    #[serde(default)]
    end_date: Option<DateTime<Utc>>,
    #[serde(default)]
    enrollment_start: Option<DateTime<Utc>>,
    #[serde(default)]
    enrollment_end: Option<DateTime<Utc>>,
    #[serde(default)]
    enrollment_modes: Option<Vec<Mode>>,
    #[serde(default)]
    products: Vec<Product>,
    #[serde(default)]
    req_tree: Vec<Node>,
    #[serde(flatten)]
    common: Common,
}

fn modes(modes: &Option<Vec<Mode>>) -> Vec<String> {
    modes
        .iter()
        .flatten()
        .map(|m| m.mode_slug.clone())
        .collect()
}

fn product(products: &[Product], what: &str) -> Result<Option<ProductRecord>, ImportError> {
    let Some(first) = products.first() else {
        return Ok(None);
    };
    let price = crate::Money::parse(&first.price.text())
        .map_err(|e| field_error(what, format!("price \"{}\" {e}", first.price.text())))?;
    Ok(Some(ProductRecord {
        id: first.id,
        is_active: first.is_active,
        description: first.description.clone(),
        prices: vec![PriceVersion {
            price,
            created_on: None,
        }],
    }))
}

fn run(run: Run) -> Result<RunRecord, ImportError> {
    let what = format!("run {}", run.courseware_id);
    Ok(RunRecord {
        id: run.id,
        run_tag: run.run_tag.clone().unwrap_or_else(|| {
            run.courseware_id
                .rsplit('+')
                .next()
                .unwrap_or_default()
                .to_string()
        }),
        product: product(&run.products, &what)?,
        enrollment_modes: modes(&run.enrollment_modes),
        courseware_id: run.courseware_id,
        title: run.title,
        start_date: run.start_date,
        end_date: run.end_date,
        enrollment_start: run.enrollment_start,
        enrollment_end: run.enrollment_end,
        upgrade_deadline: run.upgrade_deadline,
        expiration_date: run.expiration_date,
        certificate_available_date: run.certificate_available_date,
        is_self_paced: run.is_self_paced,
        live: run.live,
        courseware_url: run.courseware_url,
        language: run.language.unwrap_or_else(|| "en".to_string()),
        instructors: Vec::new(),
    })
}

pub(super) fn courses(items: Vec<Value>) -> Result<Catalog, ImportError> {
    let mut catalog = Catalog::default();
    for course in parse_items::<Course>(items, "course")? {
        let what = format!("course {}", course.readable_id);
        let page = course.common.page(&what)?;
        let course_instructors = course
            .common
            .page
            .as_ref()
            .map(|p| instructors(&p.instructors))
            .unwrap_or_default();
        catalog.courses.push(CourseRecord {
            id: course.id,
            site: Site::Mitxonline,
            readable_id: course.readable_id,
            title: course.title,
            live: course.live,
            platform: None,
            language: None,
            is_external: false,
            departments: names(&course.common.departments),
            topics: names(&course.topics),
            blocked_countries: Vec::new(),
            instructors: course_instructors,
            page,
            runs: course
                .courseruns
                .into_iter()
                .flatten()
                .map(run)
                .collect::<Result<_, _>>()?,
        });
    }
    Ok(catalog)
}

fn node(node: Node, program: &str) -> Result<Vec<RequirementRecord>, ImportError> {
    let what = || format!("program {program} requirement");
    let data = node.data;
    Ok(match data.node_type.as_str() {
        // The older API still served the root; its children are the tree.
        "program_root" => children(node.children, program)?,
        "operator" => {
            let operator = Operator::from_wire(
                data.operator.as_deref().unwrap_or(""),
                data.operator_value.as_deref(),
            )
            .map_err(|e| field_error(what(), e))?;
            vec![RequirementNode::Operator {
                operator,
                title: data.title,
                elective: data.elective_flag.unwrap_or(false),
                children: children(node.children, program)?,
            }]
        }
        "course" => vec![RequirementNode::Course {
            course: Reference::Id {
                id: data
                    .course
                    .ok_or_else(|| field_error(what(), "course node without a course"))?,
            },
        }],
        "program" => vec![RequirementNode::Program {
            program: Reference::Id {
                id: data.required_program.ok_or_else(|| {
                    field_error(what(), "program node without a required_program")
                })?,
            },
        }],
        other => {
            return Err(field_error(
                what(),
                format!("unknown node_type \"{other}\""),
            ));
        }
    })
}

fn children(nodes: Vec<Node>, program: &str) -> Result<Vec<RequirementRecord>, ImportError> {
    let mut out = Vec::new();
    for child in nodes {
        out.extend(node(child, program)?);
    }
    Ok(out)
}

pub(super) fn programs(items: Vec<Value>) -> Result<Catalog, ImportError> {
    let mut catalog = Catalog::default();
    for program in parse_items::<Program>(items, "program")? {
        let what = format!("program {}", program.readable_id);
        catalog.programs.push(ProgramRecord {
            id: program.id,
            site: Site::Mitxonline,
            title: program.title,
            live: program.live,
            program_type: program.program_type.unwrap_or_else(|| "Series".to_string()),
            platform: None,
            language: None,
            is_external: false,
            availability: program.availability,
            display_mode: program.display_mode.filter(|m| !m.is_empty()),
            b2b_only: false,
            start_date: program.start_date,
            end_date: program.end_date,
            enrollment_start: program.enrollment_start,
            enrollment_end: program.enrollment_end,
            enrollment_modes: modes(&program.enrollment_modes),
            departments: names(&program.common.departments),
            instructors: Vec::new(),
            page: program.common.page(&what)?,
            product: product(&program.products, &what)?,
            runs: Vec::new(),
            requirements: children(program.req_tree, &program.readable_id)?,
            readable_id: program.readable_id,
        });
    }
    Ok(catalog)
}
