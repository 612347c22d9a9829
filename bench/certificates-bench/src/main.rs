//! Measures certificate generation on a real database: every learner is enrolled (verified)
//! in one run of each course of the synthetic catalog and in each of its programs; grade rows
//! are then applied run by run as the grade sync applies them (one transaction per run, the
//! storefront's rule judging each grade, program certificates following new course
//! certificates). Pass 1 stores every grade; pass 2 applies the same grades again (nothing
//! changes); pass 3 changes a tenth of them. Each pass is checked against the rule's expected
//! counts. See docs/benchmarks.md.

use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use chrono::{DateTime, Utc};
use clap::Parser;
use domain::certificates::Grade;
use sea_orm::ConnectionTrait;
use services::certificates::{Applied, apply_grades};
use store::catalog::read::CatalogView;
use store::catalog::write::{Mode, apply};
use store::{PoolSize, Store};

#[derive(Parser)]
struct Cli {
    /// Database URL (a fresh, empty database).
    #[arg(long)]
    db: String,
    /// Courses in the catalog: one run of each is graded.
    #[arg(long, default_value_t = 100)]
    runs: usize,
    #[arg(long, default_value_t = 1_000)]
    learners: usize,
}

async fn sql(store: &Store, sql: &str, now: DateTime<Utc>) -> Result<()> {
    let db = store.db();
    db.execute_raw(jobs::queue::statement(
        db.get_database_backend(),
        sql,
        vec![
            now.into(),
            (now - chrono::Duration::days(10)).into(),
            (now - chrono::Duration::days(3)).into(),
        ],
    ))
    .await?;
    Ok(())
}

/// The catalog with every course, run and program live, runs ended ten days ago with
/// certificates available three days ago (inside both storefronts' certification windows);
/// the graded runs; the learners, enrolled.
async fn world(
    store: &Store,
    runs: usize,
    learners: usize,
    now: DateTime<Utc>,
) -> Result<(CatalogView, Vec<i64>, Vec<i64>)> {
    let txn = store.write().await?;
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, runs, runs / 10),
        Mode::Strict,
    )
    .await?;
    let mut ids = Vec::with_capacity(learners);
    for i in 0..learners {
        let user = store::testing::learner(&txn, &format!("learner{i}"), now).await?;
        ids.push(user.id);
    }
    txn.commit().await?;
    for statement in [
        "UPDATE courses SET live = true",
        "UPDATE programs SET live = true",
        "UPDATE course_runs SET live = true, is_self_paced = false, expiration_date = NULL, end_date = $2, certificate_available_date = $3",
    ] {
        sql(store, statement, now).await?;
    }
    let view = store::catalog::read::load(store.db()).await?;
    let graded: Vec<i64> = view
        .courses
        .iter()
        .filter_map(|c| c.runs.first().map(|r| r.id))
        .collect();
    let runs_sql = graded
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(", ");
    sql(
        store,
        &format!(
            "INSERT INTO course_run_enrollments (user_id, run_id, mode, active, edx_enrolled, edx_emails_subscription, created_on, updated_on) \
             SELECT u.id, r.id, 'verified', true, true, true, $1, $1 FROM users u, course_runs r WHERE r.id IN ({runs_sql})"
        ),
        now,
    )
    .await?;
    sql(
        store,
        "INSERT INTO program_enrollments (user_id, program_id, mode, active, created_on, updated_on) \
         SELECT u.id, p.id, 'verified', true, $1, $1 FROM users u, programs p",
        now,
    )
    .await?;
    Ok((view, graded, ids))
}

/// A learner's grade in a run: one in twenty zero, a quarter failing, the rest passing.
/// `shift` moves a tenth of the grades (pass 3).
fn grade(learner: i64, run: usize, shift: bool) -> Grade {
    let h = (learner as usize * 31 + run * 17) % 20;
    let moved = shift && (learner as usize + run).is_multiple_of(10);
    let (grade, passed) = match h {
        0 => (0.0, false),
        1..=5 => (0.4, false),
        _ => (0.5 + h as f64 / 40.0 + if moved { 0.01 } else { 0.0 }, true),
    };
    Grade {
        grade,
        letter: passed.then(|| "Pass".to_string()),
        passed,
        set_by_admin: false,
    }
}

async fn pass(
    store: &Store,
    view: &CatalogView,
    runs: &[i64],
    learners: &[i64],
    shift: bool,
    now: DateTime<Utc>,
) -> Result<(Duration, Applied)> {
    let mut total = Applied::default();
    let started = Instant::now();
    for (index, run) in runs.iter().enumerate() {
        let grades: Vec<(i64, Grade)> = learners
            .iter()
            .map(|l| (*l, grade(*l, index, shift)))
            .collect();
        let txn = store.write().await?;
        let applied = apply_grades(&txn, view, *run, &grades, now).await?;
        txn.commit().await?;
        total.grades_changed += applied.grades_changed;
        total.certificates_issued += applied.certificates_issued;
        total.certificates_removed += applied.certificates_removed;
        total.program_certificates_issued += applied.program_certificates_issued;
    }
    Ok((started.elapsed(), total))
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let store = Store::connect(&cli.db, PoolSize(4)).await?;
    store.migrate().await?;
    let now = Utc::now();
    let setup = Instant::now();
    let (view, runs, learners) = world(&store, cli.runs, cli.learners, now).await?;
    eprintln!(
        "{} runs × {} learners enrolled in {:.1?}",
        runs.len(),
        learners.len(),
        setup.elapsed()
    );
    let rows = (runs.len() * learners.len()) as u32;
    let (passing, zero) = runs.iter().enumerate().fold((0, 0), |(p, z), (index, _)| {
        learners.iter().fold((p, z), |(p, z), l| {
            let g = grade(*l, index, false);
            (p + u32::from(g.passed), z + u32::from(g.grade == 0.0))
        })
    });
    println!(
        "| pass | grade rows | seconds | rows/s | grades changed | certificates issued | removed | program certificates |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let report = |name: &str, (took, applied): (Duration, Applied)| {
        println!(
            "| {name} | {rows} | {:.2} | {:.0} | {} | {} | {} | {} |",
            took.as_secs_f64(),
            f64::from(rows) / took.as_secs_f64(),
            applied.grades_changed,
            applied.certificates_issued,
            applied.certificates_removed,
            applied.program_certificates_issued
        );
        applied
    };
    let first = report(
        "1: new grades",
        pass(&store, &view, &runs, &learners, false, now).await?,
    );
    ensure!(first.grades_changed == rows, "every grade is stored");
    ensure!(
        first.certificates_issued == passing,
        "every passing learner is certified"
    );
    ensure!(
        first.certificates_removed == 0 && zero > 0,
        "nothing to remove yet"
    );
    let again = report(
        "2: same grades",
        pass(&store, &view, &runs, &learners, false, now).await?,
    );
    ensure!(
        again == Applied::default(),
        "a repeated sync changes nothing"
    );
    let shifted = report(
        "3: a tenth changed",
        pass(&store, &view, &runs, &learners, true, now).await?,
    );
    ensure!(
        shifted.grades_changed > 0 && shifted.certificates_issued == 0,
        "changed grades of certified learners issue nothing new"
    );
    Ok(())
}
