//! Schedules on the backend `REGISTRAR_TEST_DATABASE_URL` picks.

use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use jobs::schedule::tick;
use jobs::{Cadence, Schedule};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};

fn at(h: u32, m: u32, s: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2027, 3, 1, h, m, s).unwrap()
}

fn schedule(cadence: &str) -> Schedule {
    Schedule {
        name: "test-schedule",
        cadence: Cadence::from_str(cadence).unwrap(),
        kind: "test.scheduled",
        payload: serde_json::json!({}),
        max_attempts: 3,
    }
}

async fn jobs(db: &DatabaseConnection) -> i64 {
    db.query_one_raw(Statement::from_string(
        db.get_database_backend(),
        "SELECT COUNT(*) AS n FROM jobs WHERE kind = 'test.scheduled'",
    ))
    .await
    .unwrap()
    .unwrap()
    .try_get("", "n")
    .unwrap()
}

#[test]
fn cadences_parse_and_find_their_latest_slot() {
    let every = Cadence::from_str("every 30m offset 15m").unwrap();
    assert_eq!(every.latest_slot(at(10, 44, 59)), Some(at(10, 15, 0)));
    assert_eq!(every.latest_slot(at(10, 45, 0)), Some(at(10, 45, 0)));
    let daily = Cadence::from_str("10 0 * * *").unwrap();
    assert_eq!(daily.latest_slot(at(9, 0, 0)), Some(at(0, 10, 0)));
    // The fraction of a second a tick happens at is not part of the slot: otherwise every
    // tick of a daily schedule would be a new slot and run it again (a bug once).
    let later = at(9, 0, 0) + chrono::Duration::nanoseconds(956_489_015);
    assert_eq!(daily.latest_slot(later), Some(at(0, 10, 0)));
    assert_eq!(
        Cadence::from_str("off").unwrap().latest_slot(at(9, 0, 0)),
        None
    );
    assert!(
        matches!(Cadence::from_str("every 1800s").unwrap(), Cadence::Every { period, .. } if period == Duration::from_secs(1800))
    );
    for bad in [
        "every",
        "every 0s",
        "every 5 parsecs",
        "61 * * * *",
        "sometimes",
    ] {
        assert!(Cadence::from_str(bad).is_err(), "{bad}");
    }
}

#[tokio::test]
async fn three_schedulers_one_slot_one_run() {
    let (store, url) = store::testing::fresh_database().await;
    let mut pools = vec![store.clone()];
    if let Some(url) = &url {
        for _ in 0..2 {
            pools.push(
                store::Store::connect(url, store::PoolSize(2))
                    .await
                    .unwrap(),
            );
        }
    }
    let every = schedule("every 1h");
    // First sight marks the current slot without running it.
    assert_eq!(tick(store.db(), &every, at(9, 30, 0)).await.unwrap(), None);
    assert_eq!(jobs(store.db()).await, 0);
    let mut handles = Vec::new();
    for i in 0..3 {
        let (pool, every) = (pools[i % pools.len()].clone(), every.clone());
        handles.push(tokio::spawn(async move {
            tick(pool.db(), &every, at(10, 0, 1)).await.unwrap()
        }));
    }
    let mut won = 0;
    for handle in handles {
        won += usize::from(handle.await.unwrap().is_some());
    }
    assert_eq!(won, 1);
    assert_eq!(jobs(store.db()).await, 1);
    assert_eq!(
        tick(store.db(), &every, at(10, 59, 59)).await.unwrap(),
        None,
        "same slot again"
    );
    assert_eq!(jobs(store.db()).await, 1);
}

#[tokio::test]
async fn missed_slots_run_once_at_start_up() {
    let (store, _) = store::testing::fresh_database().await;
    let every = schedule("every 30m");
    tick(store.db(), &every, at(8, 0, 0)).await.unwrap();
    // Everything was down from 08:00 to 11:10: five slots were missed.
    assert_eq!(
        tick(store.db(), &every, at(11, 10, 0)).await.unwrap(),
        Some(at(11, 0, 0))
    );
    assert_eq!(
        jobs(store.db()).await,
        1,
        "missed slots run once, not once each"
    );
    assert_eq!(
        tick(store.db(), &every, at(11, 30, 0)).await.unwrap(),
        Some(at(11, 30, 0))
    );
    assert_eq!(jobs(store.db()).await, 2);
}
