//! The `registrar` binary: parses the command line and hands each subcommand to its file.

mod admin_command;
mod app;
mod catalog_command;
mod cli;
mod demo;
mod jobs_command;

use anyhow::Result;
use clap::Parser;
use registrar::config::Config;

use crate::cli::{Cli, Command, DiagramFormat};

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let config = match Config::load(cli.config.as_deref()) {
        Ok(config) => config,
        Err(message) => {
            eprintln!("registrar: invalid configuration\n{message}");
            std::process::exit(2);
        }
    };
    app::init_logging(config.log_format);
    match cli.command {
        Command::Serve { bind, no_worker } => {
            let store = app::open(&config).await?;
            let app = app::Application::build(&config, store, false)?;
            app.serve(
                bind.unwrap_or(config.bind),
                !no_worker,
                axum::Router::new(),
                |_| {},
            )
            .await
        }
        Command::Worker => {
            let store = app::open(&config).await?;
            app::Application::build(&config, store, false)?.work().await
        }
        Command::Flows { format, all } => flows(&config, format, all),
        Command::Migrate => {
            app::open(&config).await?;
            println!("database is up to date");
            Ok(())
        }
        Command::Demo { port } => demo::run(config, port).await,
        Command::Admin { command } => admin_command::run(&config, command).await,
        Command::Jobs { command } => {
            let store = app::open(&config).await?;
            jobs_command::run(store.db(), command).await
        }
        Command::Catalog { command } => catalog_command::run(&config, command).await,
    }
}

/// `registrar flows`: the flows this configuration runs, as a diagram.
fn flows(config: &Config, format: DiagramFormat, all: bool) -> Result<()> {
    let schedules = app::schedules(config)?;
    let declared = services::flows::all();
    let shown: Vec<&services::flows::Flow> = declared
        .iter()
        .filter(|f| all || services::flows::enabled(f, &schedules))
        .collect();
    print!(
        "{}",
        match format {
            DiagramFormat::Plantuml => services::flows::plantuml(&shown),
            DiagramFormat::Mermaid => services::flows::mermaid(&shown),
        }
    );
    Ok(())
}
