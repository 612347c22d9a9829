//! The MITx Online dialect's response shapes: runs, courses and programs (with their
//! pages, products, enrollment modes and requirement trees) as the v1 and v2 serializers
//! draw them, rendered against one catalog view at one instant.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use domain::catalog::PageRecord;
use domain::catalog::predicates::{RunChoice, mitxonline_first_unexpired_run};
use serde::Serialize;
use serde_json::{Value, json};
use store::catalog::read::{CatalogView, CourseView, Node, NodeKind, ProgramView, RunView};

use crate::AppState;
use crate::api::{price_number, utc};

const COMPLETION: &str = "Certificate of Completion";
const MICROMASTERS: &str = "MicroMasters Credential";

/// What a response is rendered against.
pub(super) struct Ctx<'a> {
    pub(super) state: &'a AppState,
    pub(super) view: &'a CatalogView,
    pub(super) now: DateTime<Utc>,
}

#[derive(Serialize)]
struct Mode<'a> {
    mode_slug: &'a str,
    mode_display_name: &'a str,
    requires_payment: bool,
}

#[derive(Serialize)]
struct Product<'a> {
    id: i64,
    price: String,
    description: &'a str,
    is_active: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    product_flexible_price: Option<Option<()>>,
}

#[derive(Serialize)]
pub(super) struct Run<'a> {
    title: &'a str,
    #[serde(serialize_with = "utc")]
    start_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    end_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    enrollment_start: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    enrollment_end: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    expiration_date: Option<DateTime<Utc>>,
    courseware_url: Option<&'a str>,
    courseware_id: &'a str,
    #[serde(serialize_with = "utc")]
    certificate_available_date: Option<DateTime<Utc>>,
    #[serde(serialize_with = "utc")]
    upgrade_deadline: Option<DateTime<Utc>>,
    is_upgradable: bool,
    is_enrollable: bool,
    is_archived: bool,
    is_self_paced: bool,
    run_tag: &'a str,
    id: i64,
    live: bool,
    course_number: &'a str,
    enrollment_modes: Vec<Mode<'a>>,
    language: &'a str,
    is_primary_language: bool,
    language_label: &'static str,
    variant_industry: &'static str,
    variant_length: &'static str,
    course_id: i64,
    products: Vec<Product<'a>>,
    approved_flexible_price_exists: bool,
    b2b_contract: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) course: Option<Value>,
}

/// Display names of the language codes MITx Online runs use.
fn language_label(code: &str) -> &'static str {
    match code {
        "en" | "" => "English",
        "es_419" | "es_ES" => "Spanish",
        "fr" | "fr_CA" => "French",
        "de" | "de_DE" => "German",
        "pt_BR" | "pt_PT" => "Portuguese",
        "zh_CN" | "zh_HANS" | "zh_HK" => "Chinese",
        "ar" => "Arabic",
        "ja" => "Japanese",
        "ko" => "Korean",
        "ru" => "Russian",
        "hi" => "Hindi",
        _ => "Other",
    }
}

impl<'a> Ctx<'a> {
    pub(super) fn run(&self, run: &'a RunView, v1: bool) -> Run<'a> {
        let w = &run.window;
        Run {
            title: &run.title,
            start_date: w.start,
            end_date: w.end,
            enrollment_start: w.enrollment_start,
            enrollment_end: w.enrollment_end,
            expiration_date: run.expiration_date,
            courseware_url: run.courseware_url.as_deref(),
            courseware_id: &run.courseware_id,
            certificate_available_date: run.certificate_available_date,
            upgrade_deadline: w.upgrade_deadline,
            is_upgradable: w.is_upgradable(
                self.now,
                run.product.is_some(),
                run.has_mode("verified"),
            ),
            is_enrollable: w.is_enrollable(self.now),
            is_archived: w.is_archived(self.now),
            is_self_paced: run.is_self_paced,
            run_tag: &run.run_tag,
            id: run.id,
            live: w.live,
            course_number: run
                .courseware_id
                .split('+')
                .nth(1)
                .unwrap_or(&run.courseware_id),
            enrollment_modes: run
                .modes
                .iter()
                .map(|m| Mode {
                    mode_slug: &m.slug,
                    mode_display_name: &m.display_name,
                    requires_payment: m.requires_payment,
                })
                .collect(),
            language: &run.language,
            is_primary_language: true,
            language_label: language_label(&run.language),
            variant_industry: "",
            variant_length: "",
            course_id: run.course_id,
            products: run
                .product
                .iter()
                .filter_map(|p| {
                    p.price().map(|price| Product {
                        id: p.id,
                        price: price.to_string(),
                        description: &p.description,
                        is_active: p.is_active,
                        product_flexible_price: v1.then_some(None),
                    })
                })
                .collect(),
            approved_flexible_price_exists: false,
            b2b_contract: None,
            course: None,
        }
    }

    fn next_run(&self, course: &CourseView) -> Option<&'a RunView> {
        let view = self.view;
        let course = view.course(course.id)?;
        let choices: Vec<RunChoice<'_, usize>> = course
            .runs
            .iter()
            .enumerate()
            .map(|(i, r)| RunChoice {
                key: i,
                window: &r.window,
                language: &r.language,
                is_primary_language: true,
            })
            .collect();
        mitxonline_first_unexpired_run(&choices, self.now).map(|i| &course.runs[i])
    }

    fn image(&self, page: &PageRecord) -> Value {
        page.feature_image
            .as_deref()
            .map(|src| Value::String(self.state.absolute(src)))
            .unwrap_or(Value::Null)
    }

    fn course_page(&self, course: &CourseView) -> Value {
        let Some(page) = &course.page else {
            return Value::Null;
        };
        let current_price = self
            .next_run(course)
            .and_then(|r| r.product.as_ref())
            .filter(|p| p.is_active)
            .and_then(|p| p.price());
        let mut instructors: Vec<Value> = course
            .instructors
            .iter()
            .map(|i| json!({"name": i.name, "description": i.description}))
            .collect();
        if instructors.is_empty() {
            let mut seen = BTreeSet::new();
            for i in course.runs.iter().flat_map(|r| &r.instructors) {
                if seen.insert(&i.name) {
                    instructors.push(json!({"name": i.name, "description": i.description}));
                }
            }
        }
        json!({
            "feature_image_src": self.image(page),
            "page_url": self.state.absolute(&format!("/courses/{}/", course.readable_id)),
            "description": page.description.clone().unwrap_or_default(),
            "live": page.live,
            "length": page.duration.clone().unwrap_or_default(),
            "effort": page.time_commitment,
            "financial_assistance_form_url": page.financial_assistance_form_url.clone().unwrap_or_default(),
            "current_price": price_number(current_price),
            "instructors": instructors,
        })
    }

    /// Live programs with a live page whose trees name the course.
    fn course_programs(&self, course: &CourseView) -> Vec<Value> {
        course
            .programs
            .iter()
            .filter_map(|id| self.view.program(*id))
            .filter(|p| p.live && !p.b2b_only && p.page.as_ref().is_some_and(|pg| pg.live))
            .map(|p| json!({"title": p.title, "readable_id": p.readable_id, "id": p.id, "type": "program", "display_mode": p.display_mode}))
            .collect()
    }

    fn certificate_type(&self, course: &CourseView) -> &'static str {
        let first = course
            .programs
            .first()
            .and_then(|id| self.view.program(*id));
        if first.is_some_and(|p| p.program_type.contains("MicroMasters")) {
            MICROMASTERS
        } else {
            COMPLETION
        }
    }

    pub(super) fn v2_course(&self, course: &'a CourseView, runs: &[&'a RunView]) -> Value {
        let page = course.page.clone().unwrap_or_default();
        let hours = |h: Option<i32>| h.map(|h| h.to_string());
        json!({
            "id": course.id,
            "title": course.title,
            "readable_id": course.readable_id,
            "next_run_id": self.next_run(course).map(|r| r.id),
            "departments": course.departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "page": self.course_page(course),
            "programs": self.course_programs(course),
            "topics": course.topics.iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "certificate_type": self.certificate_type(course),
            "certificate_available": self.next_run(course).is_some() && course.runs.iter().any(|r| r.has_mode("verified")),
            "required_prerequisites": page.prerequisites.as_deref().is_some_and(|p| !p.is_empty()),
            "duration": page.duration.clone().unwrap_or_default(),
            "min_weeks": page.min_weeks,
            "max_weeks": page.max_weeks,
            "min_price": price_number(page.min_price),
            "max_price": price_number(page.max_price),
            "time_commitment": page.time_commitment,
            "availability": if course.runs.iter().any(|r| r.window.start.is_some()) { "dated" } else { "anytime" },
            "min_weekly_hours": hours(page.min_weekly_hours),
            "max_weekly_hours": hours(page.max_weekly_hours),
            "include_in_learn_catalog": page.include_in_learn_catalog,
            "ingest_content_files_for_ai": page.ingest_content_files_for_ai,
            "possible_variant_sets": [],
            "courseruns": runs.iter().map(|r| self.run(r, false)).collect::<Vec<_>>(),
        })
    }

    /// The v1 `Course` object (no runs), also nested in v1 course runs.
    pub(super) fn v1_course_base(&self, course: &CourseView, with_programs: bool) -> Value {
        json!({
            "id": course.id,
            "title": course.title,
            "readable_id": course.readable_id,
            "next_run_id": self.next_run(course).map(|r| r.id),
            "departments": course.departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "page": self.course_page(course),
            "programs": if with_programs {
                Value::Array(self.course_programs(course).into_iter().map(|p| json!({"id": p["id"], "title": p["title"], "readable_id": p["readable_id"]})).collect())
            } else {
                Value::Null
            },
        })
    }

    pub(super) fn v1_course(
        &self,
        course: &'a CourseView,
        runs: &[&'a RunView],
        with_programs: bool,
    ) -> Value {
        let mut value = self.v1_course_base(course, with_programs);
        value["courseruns"] = json!(runs.iter().map(|r| self.run(r, true)).collect::<Vec<_>>());
        value
    }

    fn tree(&self, program: &ProgramView, nodes: &[Node], v1: bool) -> Vec<Value> {
        let number = |id: Option<i64>| match (id, v1) {
            (Some(id), true) => json!(id.to_string()),
            (Some(id), false) => json!(id),
            (None, _) => Value::Null,
        };
        nodes
            .iter()
            .map(|node| {
                let (node_type, operator, value, course, required, title, elective) = match &node
                    .kind
                {
                    NodeKind::Operator {
                        operator,
                        title,
                        elective,
                    } => {
                        let (op, value) = operator.wire();
                        (
                            "operator",
                            Some(op),
                            value,
                            None,
                            None,
                            title.clone(),
                            *elective,
                        )
                    }
                    NodeKind::Course(id) => ("course", None, None, Some(*id), None, None, false),
                    NodeKind::Program(id) => ("program", None, None, None, Some(*id), None, false),
                };
                let mut out = json!({
                    "id": node.id,
                    "data": {
                        "node_type": node_type,
                        "operator": operator,
                        "operator_value": value,
                        "program": number(Some(program.id)),
                        "course": number(course),
                        "required_program": number(required),
                        "title": title,
                        "elective_flag": elective,
                    },
                });
                if matches!(node.kind, NodeKind::Operator { .. }) {
                    out["children"] = Value::Array(self.tree(program, &node.children, v1));
                }
                out
            })
            .collect()
    }

    fn program_page(&self, program: &ProgramView) -> Value {
        let Some(page) = &program.page else {
            return Value::Null;
        };
        json!({
            "feature_image_src": self.image(page),
            "page_url": self.state.absolute(&format!("/programs/{}/", program.readable_id)),
            "financial_assistance_form_url": page.financial_assistance_form_url.clone().unwrap_or_default(),
            "description": page.description.clone().unwrap_or_default(),
            "live": page.live,
            "include_in_learn_catalog": page.include_in_learn_catalog,
            "length": page.duration.clone().unwrap_or_default(),
            "effort": page.time_commitment,
            "price": page.price_text.clone().unwrap_or_default(),
            // The schema does not allow null: without a list price, the program's price.
            "list_price": page.list_price.or_else(|| program.product.as_ref().and_then(|p| p.price())).unwrap_or(domain::Money::ZERO).to_string(),
        })
    }

    fn modes(program: &ProgramView) -> Vec<Value> {
        program
            .modes
            .iter()
            .map(|m| json!({"mode_slug": m.slug, "mode_display_name": m.display_name, "requires_payment": m.requires_payment}))
            .collect()
    }

    fn live_courses(&self, program: &ProgramView) -> Vec<&'a CourseView> {
        let view = self.view;
        program
            .course_leaves()
            .into_iter()
            .filter_map(|(id, _)| view.course(id))
            .filter(|c| c.live)
            .collect()
    }

    pub(super) fn v2_program(&self, program: &ProgramView, with_parents: bool) -> Value {
        let page = program.page.clone().unwrap_or_default();
        let split = |leaves: Vec<(i64, bool)>, programs: bool| {
            let (mut required, mut electives) = (Vec::new(), Vec::new());
            for (id, elective) in leaves {
                let readable = if programs {
                    self.view.program(id).map(|p| p.readable_id.clone())
                } else {
                    self.view.course(id).map(|c| c.readable_id.clone())
                };
                let entry = json!({"id": id, "readable_id": readable});
                if elective {
                    electives.push(entry)
                } else {
                    required.push(entry)
                }
            }
            json!({"required": required, "electives": electives})
        };
        let courses = self.live_courses(program);
        let mut topics = BTreeSet::new();
        for course in &courses {
            topics.extend(course.topics.iter().cloned());
        }
        let next_start = courses
            .iter()
            .flat_map(|c| &c.runs)
            .filter(|r| r.window.live)
            .filter_map(|r| r.window.start)
            .filter(|s| *s > self.now)
            .min()
            .or(program.start_date);
        let hours = |h: Option<i32>| h.map(|h| h.to_string());
        json!({
            "title": program.title,
            "readable_id": program.readable_id,
            "id": program.id,
            "courses": courses.iter().map(|c| c.id).collect::<Vec<_>>(),
            "collections": [],
            "programs": if with_parents {
                json!(program.required_by.iter().filter_map(|id| self.view.program(*id)).filter(|p| p.live && !p.b2b_only)
                    .map(|p| json!({"title": p.title, "readable_id": p.readable_id, "id": p.id, "type": "program", "display_mode": p.display_mode}))
                    .collect::<Vec<_>>())
            } else {
                Value::Null
            },
            "requirements": {
                "courses": split(program.course_leaves(), false),
                "programs": split(program.program_leaves(), true),
            },
            "req_tree": self.tree(program, &program.requirements, false),
            "page": self.program_page(program),
            "program_type": program.program_type,
            "certificate_type": if program.program_type.contains("MicroMasters") { MICROMASTERS } else { COMPLETION },
            "certificate_available": program.modes.iter().any(|m| m.requires_payment),
            "departments": program.departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "live": program.live,
            "display_mode": program.display_mode,
            "topics": topics.into_iter().map(|t| json!({"name": t})).collect::<Vec<_>>(),
            "availability": program.availability.clone().unwrap_or_else(|| "anytime".to_string()),
            "start_date": next_start.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            "end_date": program.end_date.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            "enrollment_start": program.enrollment_start.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            "enrollment_end": program.enrollment_end.map(|s| s.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)),
            "required_prerequisites": page.prerequisites.as_deref().is_some_and(|p| !p.is_empty()),
            "duration": page.duration,
            "min_weeks": page.min_weeks,
            "max_weeks": page.max_weeks,
            "min_price": price_number(page.min_price),
            "max_price": price_number(page.max_price),
            "time_commitment": page.time_commitment,
            "min_weekly_hours": hours(page.min_weekly_hours),
            "max_weekly_hours": hours(page.max_weekly_hours),
            "enrollment_modes": Self::modes(program),
            "products": program.product.iter().filter_map(|p| p.price().map(|price| json!({"id": p.id, "price": price.to_string(), "description": p.description, "is_active": p.is_active}))).collect::<Vec<_>>(),
        })
    }

    pub(super) fn v1_program(&self, program: &ProgramView) -> Value {
        let leaves = program.course_leaves();
        let ids = |elective: bool| {
            leaves
                .iter()
                .filter(|(_, e)| *e == elective)
                .map(|(id, _)| *id)
                .collect::<Vec<_>>()
        };
        json!({
            "title": program.title,
            "readable_id": program.readable_id,
            "id": program.id,
            "courses": self.live_courses(program).into_iter().map(|c| {
                let runs: Vec<&RunView> = c.runs.iter().filter(|r| r.window.live).collect();
                self.v1_course(c, &runs, false)
            }).collect::<Vec<_>>(),
            "requirements": {"required": ids(false), "electives": ids(true)},
            "req_tree": self.tree(program, &program.requirements, true),
            "page": self.program_page(program),
            "program_type": program.program_type,
            "departments": program.departments.iter().map(|d| json!({"name": d})).collect::<Vec<_>>(),
            "live": program.live,
            "enrollment_modes": Self::modes(program),
        })
    }
}
