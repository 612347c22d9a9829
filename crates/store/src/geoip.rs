//! The GeoIP network table: replaced whole by an import, read one address at a time.

use std::net::IpAddr;

use domain::geoip::{Network, number};
use sea_orm::{ConnectionTrait, DbErr};

use crate::sql::{one, run};

/// Rows per insert statement (three values each, well under SQLite's variable limit).
const BATCH: usize = 500;

/// Replaces every network, in the caller's transaction; how many were written.
pub async fn replace(db: &impl ConnectionTrait, networks: &[Network]) -> Result<usize, DbErr> {
    run(db, "DELETE FROM geoip_networks", vec![]).await?;
    for chunk in networks.chunks(BATCH) {
        let mut sql =
            String::from("INSERT INTO geoip_networks (first_ip, last_ip, country) VALUES ");
        let mut values = Vec::with_capacity(chunk.len() * 3);
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("(${}, ${}, ${})", i * 3 + 1, i * 3 + 2, i * 3 + 3));
            values.push(n.first.to_be_bytes().to_vec().into());
            values.push(n.last.to_be_bytes().to_vec().into());
            values.push(n.country.clone().into());
        }
        // Overlapping rows in a file keep the first network that starts at an address.
        sql.push_str(" ON CONFLICT (first_ip) DO NOTHING");
        run(db, &sql, values).await?;
    }
    Ok(networks.len())
}

/// The country of the network holding `ip`, if any.
pub async fn country_of(db: &impl ConnectionTrait, ip: IpAddr) -> Result<Option<String>, DbErr> {
    let address = number(ip).to_be_bytes().to_vec();
    let Some(row) = one(
        db,
        "SELECT last_ip, country FROM geoip_networks WHERE first_ip <= $1 ORDER BY first_ip DESC LIMIT 1",
        vec![address.clone().into()],
    )
    .await?
    else {
        return Ok(None);
    };
    let last: Vec<u8> = row.try_get("", "last_ip")?;
    (last >= address)
        .then(|| row.try_get("", "country"))
        .transpose()
}

/// Whether any network is loaded (GeoIP is in use only then).
pub async fn loaded(db: &impl ConnectionTrait) -> Result<bool, DbErr> {
    Ok(
        one(db, "SELECT 1 AS one FROM geoip_networks LIMIT 1", vec![])
            .await?
            .is_some(),
    )
}
