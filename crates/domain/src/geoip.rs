//! MaxMind GeoLite2 Country CSVs (the format xPRO's `import_maxmind_data` loads): the
//! locations file names each geoname's country; the blocks files map networks (IPv4 or
//! IPv6, CIDR) to a geoname. Addresses are kept as 128-bit numbers, IPv4 as IPv4-mapped
//! IPv6 (`::ffff:a.b.c.d`), so one ordered range table answers both.

use std::collections::HashMap;
use std::net::IpAddr;

/// A network's first and last address and its country (ISO 3166-1 alpha-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Network {
    pub first: u128,
    pub last: u128,
    pub country: String,
}

/// An address as a 128-bit number.
pub fn number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(v4) => u128::from(v4.to_ipv6_mapped()),
        IpAddr::V6(v6) => u128::from(v6),
    }
}

/// `"1.2.3.0/24"` or `"2001:db8::/32"` as its first and last address.
pub fn cidr(text: &str) -> Result<(u128, u128), String> {
    let (address, length) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?} is not a network (address/length)"))?;
    let ip: IpAddr = address
        .parse()
        .map_err(|_| format!("{address:?} is not an IP address"))?;
    let length: u32 = length
        .parse()
        .map_err(|_| format!("{length:?} is not a prefix length"))?;
    let (bits, length) = match ip {
        IpAddr::V4(_) if length <= 32 => (number(ip), length + 96),
        IpAddr::V6(_) if length <= 128 => (number(ip), length),
        _ => return Err(format!("{text:?} has a prefix longer than its address")),
    };
    let host = if length == 128 {
        0
    } else {
        u128::MAX >> length
    };
    Ok((bits & !host, bits | host))
}

/// Reads a locations file: geoname id → country code (rows without a country are skipped).
pub fn locations(csv: &str) -> Result<HashMap<String, String>, String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("the locations file has no {name} column"))
    };
    let (id, country) = (column("geoname_id")?, column("country_iso_code")?);
    // Country names may hold quoted commas, but only after the columns read here.
    Ok(lines
        .filter_map(|line| {
            let fields: Vec<&str> = line.splitn(country + 2, ',').collect();
            let code = fields.get(country)?.trim().trim_matches('"');
            (code.len() == 2).then(|| (fields[id].trim().to_string(), code.to_uppercase()))
        })
        .collect())
}

/// Reads a blocks file against the locations; a network without a country is skipped.
/// The row number (from 2) is given with any error.
pub fn blocks(csv: &str, countries: &HashMap<String, String>) -> Result<Vec<Network>, String> {
    let mut lines = csv.lines().enumerate();
    let header: Vec<&str> = lines
        .next()
        .map(|(_, l)| l)
        .unwrap_or_default()
        .split(',')
        .collect();
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h.trim() == name)
            .ok_or_else(|| format!("the blocks file has no {name} column"))
    };
    let (network, geoname, registered) = (
        column("network")?,
        column("geoname_id")?,
        column("registered_country_geoname_id")?,
    );
    let mut out = Vec::new();
    for (index, line) in lines {
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        let field = |i: usize| fields.get(i).map(|f| f.trim()).unwrap_or_default();
        let (first, last) = cidr(field(network)).map_err(|e| format!("row {}: {e}", index + 1))?;
        let country = countries
            .get(field(geoname))
            .or_else(|| countries.get(field(registered)));
        if let Some(country) = country {
            out.push(Network {
                first,
                last,
                country: country.clone(),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_of_both_families_become_ranges() {
        let (first, last) = cidr("203.0.113.0/24").unwrap();
        assert_eq!(first, number("203.0.113.0".parse().unwrap()));
        assert_eq!(last, number("203.0.113.255".parse().unwrap()));
        let (first, last) = cidr("2001:db8::/32").unwrap();
        assert_eq!(first, number("2001:db8::".parse().unwrap()));
        assert_eq!(
            last,
            number("2001:db8:ffff:ffff:ffff:ffff:ffff:ffff".parse().unwrap())
        );
        assert_eq!(
            cidr("10.0.0.1/32").unwrap().0,
            cidr("10.0.0.1/32").unwrap().1
        );
        assert!(cidr("10.0.0.0/33").is_err());
        assert!(cidr("nonsense").is_err());
    }

    #[test]
    fn geolite_files_map_networks_to_countries() {
        let locations = locations(
            "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,is_in_european_union\n\
             2635167,en,EU,Europe,GB,\"United Kingdom\",0\n\
             1835841,en,AS,Asia,KR,\"Korea, Republic of\",0\n\
             6255147,en,AS,Asia,,,0\n",
        )
        .unwrap();
        assert_eq!(locations["1835841"], "KR");
        assert!(
            !locations.contains_key("6255147"),
            "a continent alone names no country"
        );
        let networks = blocks(
            "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider\n\
             203.0.113.0/24,2635167,2635167,,0,0\n\
             198.51.100.0/24,,1835841,,0,0\n\
             192.0.2.0/24,,,,1,0\n",
            &locations,
        )
        .unwrap();
        assert_eq!(networks.len(), 2, "a network without a country is skipped");
        assert_eq!(
            networks[1].country, "KR",
            "the registered country stands in"
        );
        assert!(
            blocks(
                "network,geoname_id,registered_country_geoname_id\nbad,1,1\n",
                &locations
            )
            .unwrap_err()
            .contains("row 2")
        );
    }
}
