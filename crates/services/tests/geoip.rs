//! GeoIP through the import and the tax-country rule, on the backend
//! `REGISTRAR_TEST_DATABASE_URL` picks.

use domain::commerce::pricing::TaxRate;
use services::commerce::tax_country;

const LOCATIONS: &str = "geoname_id,locale_code,continent_code,continent_name,country_iso_code,country_name,is_in_european_union\n\
2635167,en,EU,Europe,GB,\"United Kingdom\",0\n\
2921044,en,EU,Europe,DE,Germany,1\n";
const IPV4: &str = "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider\n\
203.0.113.0/24,2635167,2635167,,0,0\n\
198.51.100.0/25,2921044,2921044,,0,0\n";
const IPV6: &str = "network,geoname_id,registered_country_geoname_id,represented_country_geoname_id,is_anonymous_proxy,is_satellite_provider\n\
2001:db8::/32,2635167,2635167,,0,0\n";

fn ip(text: &str) -> Option<std::net::IpAddr> {
    Some(text.parse().unwrap())
}

#[tokio::test]
async fn tax_follows_the_located_country_only_where_it_has_a_rate() {
    let store = store::testing::fresh_store().await;
    let db = store.db();
    assert_eq!(
        tax_country(db, ip("203.0.113.9"), Some("US"))
            .await
            .unwrap(),
        Some("US".into()),
        "without networks loaded, the legal address"
    );
    let loaded = services::geoip::import(&store, LOCATIONS, &[IPV4, IPV6])
        .await
        .unwrap();
    assert_eq!(loaded, 3);
    assert_eq!(
        store::geoip::country_of(db, ip("203.0.113.200").unwrap())
            .await
            .unwrap(),
        Some("GB".into())
    );
    assert_eq!(
        store::geoip::country_of(db, ip("2001:db8:1::5").unwrap())
            .await
            .unwrap(),
        Some("GB".into())
    );
    assert_eq!(
        store::geoip::country_of(db, ip("198.51.100.200").unwrap())
            .await
            .unwrap(),
        None,
        "past the end of the /25"
    );
    assert_eq!(
        store::geoip::country_of(db, ip("10.1.2.3").unwrap())
            .await
            .unwrap(),
        None
    );

    store::commerce::discounts::save_tax_rate(
        db,
        &TaxRate {
            country: "GB".into(),
            percent: 20.into(),
            name: "VAT".into(),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        tax_country(db, ip("203.0.113.9"), Some("US"))
            .await
            .unwrap(),
        Some("GB".into()),
        "located where a rate is set"
    );
    assert_eq!(
        tax_country(db, ip("198.51.100.7"), Some("US"))
            .await
            .unwrap(),
        Some("US".into()),
        "located where no rate is set: the legal address"
    );
    assert_eq!(
        tax_country(db, ip("203.0.113.9"), None).await.unwrap(),
        None,
        "a visitor is not taxed before signing in"
    );

    let refused = services::geoip::import(
        &store,
        LOCATIONS,
        &["network,geoname_id,registered_country_geoname_id\nnot-a-network,1,1\n"],
    )
    .await;
    assert!(matches!(
        refused,
        Err(services::geoip::ImportError::Format(_))
    ));
    assert_eq!(
        store::geoip::country_of(db, ip("203.0.113.1").unwrap())
            .await
            .unwrap(),
        Some("GB".into()),
        "a refused file leaves the loaded networks"
    );
    services::geoip::import(&store, LOCATIONS, &[IPV6])
        .await
        .unwrap();
    assert_eq!(
        store::geoip::country_of(db, ip("203.0.113.1").unwrap())
            .await
            .unwrap(),
        None,
        "an import replaces what was loaded"
    );
}
