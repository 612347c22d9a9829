//! The catalog store on the backend `REGISTRAR_TEST_DATABASE_URL` picks (SQLite by default).

use domain::Money;
use domain::catalog::import::parse;
use domain::catalog::requirements::{Operator, RequirementNode};
use domain::catalog::{Catalog, ProgramRecord, Reference};
use sea_orm::TransactionTrait;
use store::catalog::write::{ApplyError, Mode, Report, apply};
use store::catalog::{read, revision};
use store::testing::fresh_store;

fn fixture(name: &str) -> Catalog {
    let path = format!(
        "{}/../../fixtures/originals/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    parse(&std::fs::read_to_string(path).unwrap()).unwrap().1
}

async fn import(store: &store::Store, catalog: &Catalog) -> Result<Report, ApplyError> {
    let txn = store.write().await?;
    let report = apply(&txn, catalog, Mode::Import).await?;
    txn.commit().await?;
    Ok(report)
}

#[tokio::test]
async fn fixtures_import_keep_ids_and_fill_placeholders_later() {
    let store = fresh_store().await;
    let programs = import(&store, &fixture("mitxonline_programs.json"))
        .await
        .unwrap();
    assert_eq!(programs.programs_created, 2);
    assert_eq!(programs.placeholders_created, vec![62, 74, 79, 81, 82, 83]);
    let courses = import(&store, &fixture("mitxonline_courses.json"))
        .await
        .unwrap();
    assert_eq!(
        courses.courses_updated, 3,
        "placeholders 62, 74, 79 are filled"
    );
    let view = read::load(store.db()).await.unwrap();
    let course = view.course(62).unwrap();
    assert_eq!(course.readable_id, "course-v1:MITxT+18.03.1x");
    assert!(!course.placeholder);
    assert_eq!(course.programs, vec![5]);
    assert!(view.course(81).unwrap().placeholder);
    let run = view.run(256).unwrap().1;
    assert_eq!(run.product.as_ref().unwrap().id, 227);
    assert_eq!(
        run.product.as_ref().unwrap().price(),
        Some(Money::from_minor(10_000))
    );
    assert!(run.has_mode("verified"));
    let program = view.program(5).unwrap();
    assert_eq!(
        program.course_leaves(),
        vec![(62, false), (74, false), (79, false)]
    );
}

#[tokio::test]
async fn all_four_fixtures_import_into_one_database() {
    let store = fresh_store().await;
    for name in [
        "xpro_courses.json",
        "xpro_programs.json",
        "mitxonline_courses.json",
        "mitxonline_programs.json",
    ] {
        import(&store, &fixture(name))
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let view = read::load(store.db()).await.unwrap();
    assert!(view.program_by_readable_id("program-v1:xPRO+QCR").is_some());
    let mitx = view
        .program_by_readable_id("program-v1:MITxT+18.03x")
        .unwrap();
    assert_ne!(
        mitx.id,
        view.program_by_readable_id("program-v1:xPRO+QCR")
            .unwrap()
            .id
    );
    let xpro = view
        .course_by_readable_id("course-v1:xPRO+LASERx3")
        .unwrap();
    assert_eq!(xpro.platform.as_deref(), Some("xPRO"));
    assert_eq!(xpro.page.as_ref().unwrap().credits_centi, Some(125));
}

#[tokio::test]
async fn reimporting_an_export_changes_nothing_and_a_new_price_appends_a_version() {
    let store = fresh_store().await;
    import(&store, &fixture("xpro_programs.json"))
        .await
        .unwrap();
    let exported = read::load(store.db()).await.unwrap().export();
    let again = import(&store, &exported).await.unwrap();
    assert_eq!(again.price_versions_added, 0);
    assert_eq!(
        again.courses_created + again.programs_created + again.runs_created,
        0
    );
    assert_eq!(read::load(store.db()).await.unwrap().export(), exported);

    let mut changed = exported.clone();
    let qcr = changed
        .programs
        .iter_mut()
        .find(|p| p.readable_id == "program-v1:xPRO+QCR")
        .unwrap();
    let product = qcr.product.as_mut().unwrap();
    product.prices.last_mut().unwrap().price = Money::from_minor(199_900);
    let report = import(&store, &changed).await.unwrap();
    assert_eq!(report.price_versions_added, 1);
    let view = read::load(store.db()).await.unwrap();
    let versions = &view.program(5).unwrap().product.as_ref().unwrap().versions;
    assert_eq!(versions.len(), 2, "the old version is kept");
    assert_eq!(versions[0].1.price, Money::from_minor(241_900));
    assert_eq!(versions[1].1.price, Money::from_minor(199_900));
}

fn program(readable_id: &str, requires: &[&str]) -> ProgramRecord {
    let mut record: ProgramRecord = serde_json::from_value(serde_json::json!({
        "readable_id": readable_id,
        "title": readable_id,
    }))
    .unwrap();
    record.requirements = vec![RequirementNode::Operator {
        operator: Operator::AllOf,
        title: None,
        elective: false,
        children: requires
            .iter()
            .map(|r| RequirementNode::Program {
                program: Reference::ReadableId {
                    readable_id: r.to_string(),
                },
            })
            .collect(),
    }];
    record
}

#[tokio::test]
async fn a_cycle_is_rejected_and_nothing_is_written() {
    let store = fresh_store().await;
    let ok = Catalog {
        programs: vec![
            program("program-v1:A", &[]),
            program("program-v1:B", &["program-v1:A"]),
        ],
        ..Catalog::default()
    };
    import(&store, &ok).await.unwrap();
    let before = revision(store.db()).await.unwrap();
    let cycle = Catalog {
        programs: vec![
            program("program-v1:A", &["program-v1:B"]),
            program("program-v1:C", &[]),
        ],
        ..Catalog::default()
    };
    let err = import(&store, &cycle).await.unwrap_err();
    let ApplyError::Invalid(errors) = err else {
        panic!("{err}")
    };
    assert!(errors.to_string().contains("cycle"), "{errors}");
    let view = read::load(store.db()).await.unwrap();
    assert!(
        view.program_by_readable_id("program-v1:C").is_none(),
        "the rejected document wrote nothing"
    );
    assert_eq!(revision(store.db()).await.unwrap(), before);
}

#[tokio::test]
async fn strict_mode_rejects_unknown_references() {
    let store = fresh_store().await;
    let catalog = Catalog {
        programs: vec![program("program-v1:A", &["program-v1:Nope"])],
        ..Catalog::default()
    };
    let txn = store.db().begin().await.unwrap();
    let err = apply(&txn, &catalog, Mode::Strict).await.unwrap_err();
    assert!(
        err.to_string().contains("unknown program program-v1:Nope"),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("programs[0].requirements[0].children[0]"),
        "{err}"
    );
}

#[tokio::test]
async fn a_readable_id_twice_in_one_document_is_rejected() {
    let store = fresh_store().await;
    let mut catalog = fixture("xpro_courses.json");
    catalog.courses.push(catalog.courses[0].clone());
    let err = import(&store, &catalog).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("courses[2].readable_id: appears twice"),
        "{err}"
    );
    assert!(read::load(store.db()).await.unwrap().courses.is_empty());
}

#[tokio::test]
async fn staff_tokens_authenticate_only_their_owner() {
    let store = fresh_store().await;
    let token = store::staff::create_token(store.db(), "staff@example.edu")
        .await
        .unwrap();
    assert_eq!(
        store::staff::authenticate(store.db(), &token)
            .await
            .unwrap()
            .as_deref(),
        Some("staff@example.edu")
    );
    assert_eq!(
        store::staff::authenticate(store.db(), "guess")
            .await
            .unwrap(),
        None
    );
}
