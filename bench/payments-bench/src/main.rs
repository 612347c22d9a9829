//! Measures payment results end to end on a real database: N learners each check out a run
//! of the synthetic catalog; then N signed ACCEPT results are posted to Registrar's merchant
//! URL over HTTP, C at a time. Each post is verified, recorded with its job, and fulfilled
//! (order state, transaction, enrollment, basket, edX and receipt jobs) before it is answered.
//! Reports results/s and latency percentiles, then checks every order was fulfilled once.
//! See docs/benchmarks.md.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Result, ensure};
use chrono::Utc;
use clap::Parser;
use integrations::cybersource::secure_acceptance;
use services::commerce::basket;
use services::commerce::checkout::{Checkout, checkout};
use services::commerce::{Processor, Storefront};
use store::catalog::write::{Mode, apply};
use store::commerce::baskets::Owner;
use store::{PoolSize, Store};

#[derive(Parser)]
struct Cli {
    /// Database URL (a fresh, empty database).
    #[arg(long)]
    db: String,
    #[arg(long, default_value_t = 5_000)]
    orders: usize,
    /// Results in flight at once.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    #[arg(long, default_value_t = 16)]
    pool: u32,
}

const SECRET: &str = "bench-secret-key";

fn storefront() -> Storefront {
    Storefront {
        base_url: "http://127.0.0.1".into(),
        reference_prefix: "bench".into(),
        bulk_reference_prefix: "bench-bulk".into(),
        environment: "run".into(),
        currency: "USD".into(),
        processor: Processor {
            url: "http://pay.invalid/pay".into(),
            access_key: "access".into(),
            profile_id: "profile".into(),
            secret_key: SECRET.into(),
        },
        refunds: None,
        support_email: None,
    }
}

/// Checks out one order per learner; the signed ACCEPT result CyberSource would post for each.
async fn orders(store: &Store, count: usize) -> Result<Vec<HashMap<String, String>>> {
    let now = Utc::now();
    let txn = store.write().await?;
    apply(
        &txn,
        &registrar::seed::synthetic_catalog(now, 48, 0),
        Mode::Strict,
    )
    .await?;
    txn.commit().await?;
    let view = store::catalog::read::load(store.db()).await?;
    let products: Vec<i64> = view
        .courses
        .iter()
        .flat_map(|c| c.runs.iter())
        .filter_map(|r| r.product.as_ref().map(|p| p.id))
        .filter(|id| {
            services::commerce::item(&view, *id)
                .is_some_and(|item| basket::sale_blocker(&view, &item, now).is_none())
        })
        .collect();
    ensure!(
        !products.is_empty(),
        "the synthetic catalog has nothing on sale"
    );
    let front = storefront();
    let mut results = Vec::with_capacity(count);
    for i in 0..count {
        let txn = store.write().await?;
        let user = store::testing::learner(&txn, &format!("buyer{i}"), now).await?;
        basket::add(
            &txn,
            &view,
            &Owner::User(user.id),
            products[i % products.len()],
            now,
        )
        .await?;
        txn.commit().await?;
        let Checkout::Pay { fields, .. } =
            checkout(store, &view, &front, &user, Some("US"), None, now).await?
        else {
            anyhow::bail!("a priced run checked out for free");
        };
        let get = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap_or_default()
        };
        let result = secure_acceptance::sign(
            SECRET,
            vec![
                ("decision".into(), "ACCEPT".into()),
                ("reason_code".into(), "100".into()),
                ("transaction_id".into(), format!("bench-{i}")),
                ("req_reference_number".into(), get("reference_number")),
                ("req_amount".into(), get("amount")),
                ("req_currency".into(), get("currency")),
                ("req_transaction_uuid".into(), get("transaction_uuid")),
                ("req_access_key".into(), get("access_key")),
                ("req_profile_id".into(), get("profile_id")),
            ],
        );
        results.push(result.into_iter().collect());
    }
    Ok(results)
}

async fn serve(store: Store) -> Result<String> {
    let state = web::AppState::new(
        store,
        web::Settings {
            base_url: "http://127.0.0.1".into(),
            catalog_refresh: Duration::from_secs(60),
            schedules: services::schedules::for_this_build(&Default::default())
                .map_err(|e| anyhow::anyhow!(e))?,
            mail_outbox: None,
            onboarding: Default::default(),
            gateway_proxies: Vec::new(),
            recaptcha: None,
            vendors: None,
            sheets: None,
            mail_events_key: None,
            metrics_token: None,
            storefront: Some(storefront()),
        },
        web::system_clock(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/api/checkout/result/", listener.local_addr()?);
    tokio::spawn(
        axum::serve(
            listener,
            web::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .into_future(),
    );
    Ok(url)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    let store = Store::connect(&cli.db, PoolSize(cli.pool)).await?;
    store.migrate().await?;
    let setup = Instant::now();
    let results = orders(&store, cli.orders).await?;
    eprintln!(
        "{} pending orders in {:.1?}",
        results.len(),
        setup.elapsed()
    );
    let url = serve(store.clone()).await?;
    let http = integrations::http_client(30, reqwest::redirect::Policy::none());
    let queue = Arc::new(tokio::sync::Mutex::new(results));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..cli.concurrency {
        let (queue, http, url) = (queue.clone(), http.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            loop {
                let Some(form) = queue.lock().await.pop() else {
                    return Ok::<_, anyhow::Error>(latencies);
                };
                let sent = Instant::now();
                let status = http.post(&url).form(&form).send().await?.status();
                ensure!(status.is_success(), "a result was answered {status}");
                latencies.push(sent.elapsed());
            }
        }));
    }
    let mut latencies = Vec::new();
    for task in tasks {
        latencies.extend(task.await??);
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let fulfilled = store::testing::count(
        &store,
        "SELECT COUNT(*) AS n FROM orders WHERE state = 'fulfilled'",
    )
    .await;
    let edx_jobs = store::testing::count(
        &store,
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'openedx.sync_enrollment'",
    )
    .await;
    ensure!(
        fulfilled as usize == cli.orders && edx_jobs as usize == cli.orders,
        "expected {} fulfilled orders and edX jobs, found {fulfilled} and {edx_jobs}",
        cli.orders
    );
    println!(
        "{} results in {:.2?}: {:.0} results/s; latency p50 {:.1?}, p99 {:.1?}, max {:.1?} ({} in flight)",
        latencies.len(),
        elapsed,
        latencies.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.50),
        percentile(&latencies, 0.99),
        latencies.last().copied().unwrap_or_default(),
        cli.concurrency,
    );
    Ok(())
}
