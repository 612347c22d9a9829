//! `registrar jobs`: list, show, retry and cancel background jobs.

use anyhow::{Context, Result, bail};

use crate::cli::JobsCommand;

pub(crate) async fn run(db: &sea_orm::DatabaseConnection, command: JobsCommand) -> Result<()> {
    use jobs::admin;
    let now = chrono::Utc::now();
    let (id, done, action) = match command {
        JobsCommand::List { state, kind, limit } => {
            for job in admin::list(db, state.as_deref(), kind.as_deref(), limit).await? {
                println!(
                    "{:>8}  {:<9}  {:<40}  {}/{}  {}  {}",
                    job.id,
                    job.state,
                    job.kind,
                    job.attempts,
                    job.max_attempts,
                    job.run_at
                        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    job.last_error.unwrap_or_default()
                );
            }
            return Ok(());
        }
        JobsCommand::Show { id } => {
            let job = admin::show(db, id)
                .await?
                .with_context(|| format!("there is no job {id}"))?;
            println!("{}", serde_json::to_string_pretty(&job)?);
            return Ok(());
        }
        JobsCommand::Retry { id } => (id, admin::retry(db, id, now).await?, "retried"),
        JobsCommand::Cancel { id } => (id, admin::cancel(db, id, now).await?, "canceled"),
    };
    let job = admin::show(db, id)
        .await?
        .with_context(|| format!("there is no job {id}"))?;
    if !done {
        bail!("job {id} is {}; it cannot be {action}", job.state);
    }
    println!("job {id} {action}: now {}", job.state);
    Ok(())
}
