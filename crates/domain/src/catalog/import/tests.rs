use super::*;
use crate::catalog::requirements::{Operator, RequirementNode};
use crate::catalog::snapshot::{Reference, Site};

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/../../fixtures/originals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn xpro_courses_fixture() {
    let (source, catalog) = parse(&fixture("xpro_courses.json")).unwrap();
    assert_eq!(source, Source::XproCourses);
    assert_eq!(catalog.courses.len(), 2);
    let course = &catalog.courses[0];
    assert_eq!(course.readable_id, "course-v1:xPRO+LASERx4");
    assert_eq!(course.id, Some(18));
    assert_eq!(course.site, Site::Xpro);
    assert_eq!(course.platform.as_deref(), Some("xPRO"));
    assert_eq!(course.runs.len(), 3);
    let run = &course.runs[0];
    assert_eq!(run.courseware_id, "course-v1:xPRO+LASERx4+R16");
    assert_eq!(run.id, Some(687));
    let product = run.product.as_ref().unwrap();
    assert_eq!(product.id, Some(641));
    assert_eq!(product.prices[0].price.minor, 99_900);
    let page = course.page.as_ref().unwrap();
    assert_eq!(
        page.credits_centi,
        Some(125),
        "credits arrive as the string \"1.25\""
    );
    assert_eq!(course.instructors[0].name, "David Niño");
    assert_eq!(
        catalog.courses[1].page.as_ref().unwrap().min_weekly_hours,
        Some(5)
    );
}

#[test]
fn xpro_programs_fixture_brings_its_courses_and_an_all_of_tree() {
    let (source, catalog) = parse(&fixture("xpro_programs.json")).unwrap();
    assert_eq!(source, Source::XproPrograms);
    assert_eq!(catalog.programs.len(), 2);
    let qcr = &catalog.programs[0];
    assert_eq!(qcr.readable_id, "program-v1:xPRO+QCR");
    assert_eq!(qcr.product.as_ref().unwrap().prices[0].price.minor, 241_900);
    let RequirementNode::Operator {
        operator, children, ..
    } = &qcr.requirements[0]
    else {
        panic!("expected an operator");
    };
    assert_eq!(*operator, Operator::AllOf);
    assert_eq!(
        children[0],
        RequirementNode::Course {
            course: Reference::ReadableId {
                readable_id: "course-v1:xPRO+QCRx1".into()
            }
        }
    );
    assert!(
        catalog
            .courses
            .iter()
            .any(|c| c.readable_id == "course-v1:xPRO+QCRx2")
    );
}

#[test]
fn mitxonline_courses_fixture() {
    let (source, catalog) = parse(&fixture("mitxonline_courses.json")).unwrap();
    assert_eq!(source, Source::MitxonlineCourses);
    assert_eq!(catalog.courses.len(), 3);
    let course = &catalog.courses[0];
    assert_eq!(course.id, Some(62));
    assert_eq!(course.departments, vec!["Mathematics"]);
    let page = course.page.as_ref().unwrap();
    assert_eq!(page.min_price.unwrap().minor, 12_300);
    assert_eq!(page.duration.as_deref(), Some("14 weeks"));
    assert!(page.include_in_learn_catalog);
    let run = &course.runs[0];
    assert_eq!(run.enrollment_modes, vec!["verified", "audit"]);
    assert_eq!(run.product.as_ref().unwrap().id, Some(227));
    assert_eq!(run.product.as_ref().unwrap().prices[0].price.minor, 10_000);
    assert_eq!(course.instructors.len(), 3);
}

#[test]
fn mitxonline_programs_fixture_unwraps_the_old_root_node() {
    let (source, catalog) = parse(&fixture("mitxonline_programs.json")).unwrap();
    assert_eq!(source, Source::MitxonlinePrograms);
    let program = &catalog.programs[0];
    assert_eq!(program.requirements.len(), 1, "program_root is unwrapped");
    let RequirementNode::Operator {
        children, title, ..
    } = &program.requirements[0]
    else {
        panic!("expected an operator");
    };
    assert_eq!(title.as_deref(), Some("Required Courses"));
    assert_eq!(children.len(), 3);
    assert_eq!(
        children[2],
        RequirementNode::Course {
            course: Reference::Id { id: 79 }
        }
    );
    assert_eq!(
        program.page.as_ref().unwrap().price_text.as_deref(),
        Some("$175")
    );
    assert_eq!(
        catalog.programs[1].start_date.unwrap().to_rfc3339(),
        "2025-09-15T00:00:00+00:00"
    );
}

#[test]
fn bad_documents_get_a_clear_error() {
    assert!(matches!(parse("{"), Err(ImportError::Json(_))));
    assert!(matches!(parse("42"), Err(ImportError::Unrecognised(_))));
    assert!(matches!(
        parse(r#"{"format":"other/9"}"#),
        Err(ImportError::Unrecognised(_))
    ));
    let err = parse(r#"[{"readable_id":"course-v1:x+y","courseruns":[]}]"#).unwrap_err();
    assert!(err.to_string().contains("course course-v1:x+y"), "{err}");
    assert!(err.to_string().contains("title"), "{err}");
    let err = parse(r#"[{"readable_id":"c","title":"t","courseruns":[{"title":"r","courseware_id":"course-v1:a+b+c","current_price":"free"}]}]"#).unwrap_err();
    assert!(err.to_string().contains("price \"free\""), "{err}");
}

#[test]
fn registrar_format_round_trips() {
    let (_, catalog) = parse(&fixture("mitxonline_programs.json")).unwrap();
    let text = serde_json::to_string(&catalog).unwrap();
    let (source, again) = parse(&text).unwrap();
    assert_eq!(source, Source::Registrar);
    assert_eq!(again, catalog);
}
