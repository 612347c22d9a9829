//! Loading MaxMind GeoLite2 Country CSVs into the GeoIP table (xPRO `import_maxmind_data`):
//! all or nothing, replacing what was loaded before.

use sea_orm::DbErr;
use store::Store;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Format(String),
    #[error(transparent)]
    Db(#[from] DbErr),
}

/// Reads the locations file and the blocks files (IPv4 and IPv6) and replaces the table in
/// one transaction; how many networks were loaded.
pub async fn import(store: &Store, locations: &str, blocks: &[&str]) -> Result<usize, ImportError> {
    let countries = domain::geoip::locations(locations).map_err(ImportError::Format)?;
    let mut networks = Vec::new();
    for (index, file) in blocks.iter().enumerate() {
        networks.extend(
            domain::geoip::blocks(file, &countries)
                .map_err(|e| ImportError::Format(format!("blocks file {}: {e}", index + 1)))?,
        );
    }
    networks.sort_by_key(|n| n.first);
    let txn = store.write().await?;
    let loaded = store::geoip::replace(&txn, &networks).await?;
    txn.commit().await?;
    Ok(loaded)
}
