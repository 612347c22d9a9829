//! Measures the job queue end to end on a real database: jobs/s for a no-op handler with
//! worker processes, and enqueue → done latency when idle. See docs/benchmarks.md.

use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use clap::{Parser, Subcommand};
use jobs::{Enqueue, Job, JobError, Registry, Worker, WorkerSettings, push};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use store::{PoolSize, Store};
use tokio::sync::{Notify, watch};

#[derive(Parser)]
struct Cli {
    /// Database URL (a fresh, empty database).
    #[arg(long)]
    db: String,
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Subcommand)]
enum Mode {
    /// Enqueue N no-op jobs, start K worker processes, report jobs/s.
    Throughput {
        #[arg(long, default_value_t = 20_000)]
        jobs: usize,
        #[arg(long, default_value_t = 1)]
        workers: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// With one idle worker process, enqueue one job at a time and report latency percentiles.
    Latency {
        #[arg(long, default_value_t = 200)]
        samples: usize,
    },
    /// A worker process (started by the other modes).
    Work {
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
}

#[derive(Serialize, Deserialize)]
struct Noop;

impl Job for Noop {
    const KIND: &'static str = "bench.noop";
    type Context = ();
    async fn run(self, _: &()) -> Result<(), JobError> {
        Ok(())
    }
}

async fn count(store: &Store, sql: &str) -> Result<i64> {
    let db = store.db();
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .expect("a count");
    Ok(row.try_get("", "n")?)
}

fn spawn_workers(db: &str, workers: usize, concurrency: usize) -> Result<Vec<Child>> {
    (0..workers)
        .map(|_| {
            Ok(Command::new(std::env::current_exe()?)
                .args([
                    "--db",
                    db,
                    "work",
                    "--concurrency",
                    &concurrency.to_string(),
                ])
                .spawn()?)
        })
        .collect()
}

fn stop(children: Vec<Child>) {
    for mut child in children {
        let _ = child.kill();
        let _ = child.wait();
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let store = Store::connect(&cli.db, PoolSize(16)).await?;
    match cli.mode {
        Mode::Work { concurrency } => {
            let (_stop, stopped) = watch::channel(false);
            Worker {
                db: store.db().clone(),
                registry: Arc::new(Registry::default().register::<Noop>()),
                context: Arc::new(()),
                settings: WorkerSettings::for_backend(
                    store.db().get_database_backend(),
                    concurrency,
                ),
                name: format!("bench-{}", std::process::id()),
                wake: Arc::new(Notify::new()),
            }
            .run(stopped)
            .await;
        }
        Mode::Throughput {
            jobs,
            workers,
            concurrency,
        } => {
            store.migrate().await?;
            let started = Instant::now();
            let txn = store.db().begin().await?;
            for _ in 0..jobs {
                push(&txn, &Noop, Enqueue::default()).await?;
            }
            txn.commit().await?;
            let enqueue = started.elapsed();
            let started = Instant::now();
            let children = spawn_workers(&cli.db, workers, concurrency)?;
            while count(
                &store,
                "SELECT COUNT(*) AS n FROM jobs WHERE state = 'succeeded'",
            )
            .await?
                < jobs as i64
            {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            let elapsed = started.elapsed();
            stop(children);
            println!(
                "throughput: {jobs} jobs, {workers} worker process(es) x {concurrency}: {:.0} jobs/s (enqueue {:.0} jobs/s)",
                jobs as f64 / elapsed.as_secs_f64(),
                jobs as f64 / enqueue.as_secs_f64()
            );
        }
        Mode::Latency { samples } => {
            store.migrate().await?;
            let children = spawn_workers(&cli.db, 1, 4)?;
            tokio::time::sleep(Duration::from_secs(2)).await;
            let mut latencies = Vec::with_capacity(samples);
            for _ in 0..samples {
                let sent = Instant::now();
                let id = push(store.db(), &Noop, Enqueue::default())
                    .await?
                    .expect("no unique key");
                loop {
                    let done = count(
                        &store,
                        &format!(
                            "SELECT COUNT(*) AS n FROM jobs WHERE id = {id} AND state = 'succeeded'"
                        ),
                    )
                    .await?;
                    if done == 1 {
                        break;
                    }
                    tokio::time::sleep(Duration::from_micros(500)).await;
                }
                latencies.push(sent.elapsed());
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            stop(children);
            latencies.sort();
            let pick = |q: f64| {
                latencies[((latencies.len() as f64 * q) as usize).min(latencies.len() - 1)]
            };
            println!(
                "latency (enqueue -> done, idle, {samples} samples): p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
                pick(0.5).as_secs_f64() * 1e3,
                pick(0.99).as_secs_f64() * 1e3,
                latencies.last().unwrap().as_secs_f64() * 1e3
            );
        }
    }
    Ok(())
}
