//! `registrar catalog`: import the originals' catalog JSON (or a Registrar export), export
//! the catalog, generate a synthetic one.

use std::path::PathBuf;

use anyhow::{Context, Result};
use domain::catalog::import;
use registrar::config::Config;
use registrar::seed;
use store::Store;
use store::catalog::write::Mode;

use crate::app::open;
use crate::cli::CatalogCommand;

pub(crate) async fn run(config: &Config, command: CatalogCommand) -> Result<()> {
    match command {
        CatalogCommand::Import { files } => {
            let store = open(config).await?;
            import_files(&store, &files).await
        }
        CatalogCommand::Export { output } => {
            let store = open(config).await?;
            let json = serde_json::to_string_pretty(
                &store::catalog::read::load(store.db()).await?.export(),
            )?;
            match output {
                Some(path) => std::fs::write(&path, json)
                    .with_context(|| format!("writing {}", path.display())),
                None => {
                    println!("{json}");
                    Ok(())
                }
            }
        }
        CatalogCommand::Generate { courses, programs } => {
            println!(
                "{}",
                serde_json::to_string_pretty(&seed::synthetic_catalog(
                    chrono::Utc::now(),
                    courses,
                    programs
                ))?
            );
            Ok(())
        }
    }
}

async fn import_files(store: &Store, files: &[PathBuf]) -> Result<()> {
    for file in files {
        let text =
            std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
        let (source, catalog) =
            import::parse(&text).with_context(|| format!("{}", file.display()))?;
        let report = services::catalog::save(store, &catalog, Mode::Import, chrono::Utc::now())
            .await
            .with_context(|| {
                format!(
                    "{} ({}): nothing was imported",
                    file.display(),
                    source.describe()
                )
            })?;
        println!(
            "{}: {} — courses {} new / {} updated, runs {} new / {} updated, programs {} new / {} updated, {} price versions",
            file.display(),
            source.describe(),
            report.courses_created,
            report.courses_updated,
            report.runs_created,
            report.runs_updated,
            report.programs_created,
            report.programs_updated,
            report.price_versions_added,
        );
        if !report.placeholders_created.is_empty() {
            println!(
                "  courses {:?} are referenced but not in the catalog yet: kept as unpublished placeholders until their course file is imported",
                report.placeholders_created
            );
        }
        for note in &report.ids_reassigned {
            println!("  new id given to {note}");
        }
    }
    Ok(())
}
