//! The catalog read model held in memory. Requests read an `Arc` snapshot; a write through
//! this process replaces it at once, and a write by another process is noticed through the
//! database's catalog revision, checked at most once per refresh interval.

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use store::Store;
use store::catalog::read::{self, CatalogView};
use tokio::sync::Mutex;

pub struct CatalogCache {
    store: Store,
    refresh: Duration,
    current: RwLock<(Arc<CatalogView>, Instant)>,
    reload: Mutex<()>,
}

impl CatalogCache {
    pub fn new(store: Store, refresh: Duration) -> Self {
        Self {
            store,
            refresh,
            current: RwLock::new((
                Arc::new(CatalogView::default()),
                Instant::now() - refresh * 2,
            )),
            reload: Mutex::new(()),
        }
    }

    fn snapshot(&self) -> (Arc<CatalogView>, Instant) {
        let guard = self.current.read().expect("catalog cache lock");
        (guard.0.clone(), guard.1)
    }

    /// The current catalog, reloaded first if another process may have changed it.
    pub async fn get(&self) -> Result<Arc<CatalogView>, store::Error> {
        let (view, checked) = self.snapshot();
        if checked.elapsed() < self.refresh && view.revision > 0 {
            return Ok(view);
        }
        let _one_at_a_time = self.reload.lock().await;
        let (view, checked) = self.snapshot();
        if checked.elapsed() < self.refresh && view.revision > 0 {
            return Ok(view);
        }
        let revision = store::catalog::revision(self.store.db()).await?;
        let fresh = if revision == view.revision && view.revision > 0 {
            view
        } else {
            Arc::new(read::load(self.store.db()).await?)
        };
        *self.current.write().expect("catalog cache lock") = (fresh.clone(), Instant::now());
        Ok(fresh)
    }

    /// Forgets the cached view after a write by this process.
    pub fn invalidate(&self) {
        let mut guard = self.current.write().expect("catalog cache lock");
        guard.0 = Arc::new(CatalogView::default());
    }
}
