//! The catalog read model held in memory, and the JSON rendered from it. Requests read an
//! `Arc` snapshot; a write through this process replaces it at once, and a write by another
//! process is noticed through the database's catalog revision, checked at most once per
//! refresh interval.
//!
//! Rendered bodies are reused while nothing they depend on can have changed: the catalog
//! revision, the request, and where "now" falls among the catalog's date boundaries. Every
//! time-dependent value (enrollable, upgradable, unexpired, next run) compares now with run
//! dates, so two instants with the same number of boundaries before them (and at or before
//! them) render identically.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::{DateTime, Utc};
use store::Store;
use store::catalog::read::{self, CatalogView};

/// How many distinct rendered responses a catalog snapshot keeps.
const MAX_RENDERED: usize = 512;

type Key = (usize, usize, String);

pub struct Snapshot {
    pub view: Arc<CatalogView>,
    boundaries: Vec<DateTime<Utc>>,
    rendered: Mutex<HashMap<Key, Bytes>>,
}

impl Snapshot {
    fn new(view: CatalogView) -> Self {
        let mut boundaries: Vec<DateTime<Utc>> = view
            .courses
            .iter()
            .flat_map(|c| &c.runs)
            .flat_map(|r| {
                let w = &r.window;
                [
                    w.start,
                    w.end,
                    w.enrollment_start,
                    w.enrollment_end,
                    w.upgrade_deadline,
                ]
            })
            .flatten()
            .collect();
        boundaries.sort_unstable();
        boundaries.dedup();
        Self {
            view: Arc::new(view),
            boundaries,
            rendered: Mutex::new(HashMap::new()),
        }
    }

    fn key(&self, now: DateTime<Utc>, request: &str) -> Key {
        let before = self.boundaries.partition_point(|b| *b < now);
        let at_or_before = self.boundaries.partition_point(|b| *b <= now);
        (before, at_or_before, request.to_string())
    }

    /// The body rendered for `request` at `now`, rendering it if needed.
    pub fn render<E>(
        &self,
        now: DateTime<Utc>,
        request: &str,
        render: impl FnOnce(&CatalogView) -> Result<Vec<u8>, E>,
    ) -> Result<Bytes, E> {
        let key = self.key(now, request);
        if let Some(body) = self.rendered.lock().expect("render cache lock").get(&key) {
            return Ok(body.clone());
        }
        let body = Bytes::from(render(&self.view)?);
        let mut rendered = self.rendered.lock().expect("render cache lock");
        if rendered.len() >= MAX_RENDERED {
            rendered.clear();
        }
        rendered.insert(key, body.clone());
        Ok(body)
    }
}

pub struct CatalogCache {
    store: Store,
    refresh: Duration,
    current: RwLock<(Arc<Snapshot>, Instant)>,
    reload: tokio::sync::Mutex<()>,
}

impl CatalogCache {
    pub fn new(store: Store, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            current: RwLock::new((
                Arc::new(Snapshot::new(CatalogView::default())),
                Instant::now() - refresh * 2,
            )),
            reload: tokio::sync::Mutex::new(()),
        }
    }

    fn current(&self) -> (Arc<Snapshot>, Instant) {
        let guard = self.current.read().expect("catalog cache lock");
        (guard.0.clone(), guard.1)
    }

    /// The current catalog, reloaded first if another process may have changed it.
    pub async fn get(&self) -> Result<Arc<Snapshot>, store::Error> {
        let fresh_enough = |(snapshot, checked): &(Arc<Snapshot>, Instant)| {
            checked.elapsed() < self.refresh && snapshot.view.revision > 0
        };
        let current = self.current();
        if fresh_enough(&current) {
            return Ok(current.0);
        }
        let _one_at_a_time = self.reload.lock().await;
        let (snapshot, checked) = self.current();
        if fresh_enough(&(snapshot.clone(), checked)) {
            return Ok(snapshot);
        }
        let revision = store::catalog::revision(self.store.db()).await?;
        let fresh = if revision == snapshot.view.revision && revision > 0 {
            snapshot
        } else {
            Arc::new(Snapshot::new(read::load(self.store.db()).await?))
        };
        *self.current.write().expect("catalog cache lock") = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// Forgets the cached catalog after a write by this process.
    pub fn invalidate(&self) {
        let mut guard = self.current.write().expect("catalog cache lock");
        guard.0 = Arc::new(Snapshot::new(CatalogView::default()));
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use domain::catalog::RunWindow;
    use store::catalog::read::{CourseView, RunView};

    use super::*;

    fn view_with_run(window: RunWindow) -> CatalogView {
        let run = RunView {
            id: 1,
            course_id: 1,
            courseware_id: "course-v1:A+B+C".into(),
            run_tag: "C".into(),
            title: "T".into(),
            window,
            expiration_date: None,
            certificate_available_date: None,
            is_self_paced: false,
            courseware_url: None,
            language: "en".into(),
            modes: vec![],
            instructors: vec![],
            product: None,
        };
        let course = CourseView {
            id: 1,
            site: domain::catalog::Site::Mitxonline,
            readable_id: "course-v1:A+B".into(),
            title: "T".into(),
            live: true,
            placeholder: false,
            platform: None,
            language: None,
            blocked_countries: vec![],
            is_external: false,
            departments: vec![],
            topics: vec![],
            instructors: vec![],
            page: None,
            runs: vec![run],
            programs: vec![],
        };
        let mut view = CatalogView::default();
        view.courses.push(course);
        view
    }

    #[test]
    fn a_rendered_body_is_reused_until_a_date_boundary_is_crossed() {
        let t = |h| Utc.with_ymd_and_hms(2027, 1, 1, h, 0, 0).unwrap();
        let snapshot = Snapshot::new(view_with_run(RunWindow {
            live: true,
            start: Some(t(10)),
            enrollment_start: Some(t(5)),
            ..RunWindow::default()
        }));
        let renders = std::cell::Cell::new(0);
        let render = |now: DateTime<Utc>| {
            snapshot
                .render::<()>(now, "/x", |_| {
                    renders.set(renders.get() + 1);
                    Ok(now.to_rfc3339().into_bytes())
                })
                .unwrap()
        };
        let first = render(t(6));
        assert_eq!(render(t(9)), first, "no boundary between 06:00 and 09:00");
        assert_eq!(renders.get(), 1);
        render(t(10));
        assert_eq!(renders.get(), 2, "exactly at a boundary is its own region");
        render(t(11));
        assert_eq!(renders.get(), 3, "after the boundary renders again");
        render(t(4));
        assert_eq!(renders.get(), 4);
        render(t(6));
        assert_eq!(renders.get(), 4, "back in the first region");
    }
}
