//! Released migrations are never edited (see `src/migration/README.md`): each migration's name
//! and a SHA-256 of its source file are pinned here, so an edit fails this test.

use sha2::{Digest, Sha256};

/// (migration name, source file from the store crate's root, SHA-256 of that file).
const PINNED: &[(&str, &str, &str)] = &[
    (
        "m0001_catalog",
        "src/migration/m0001_catalog.rs",
        "f70167c02a2a15f8fa5fe0d7404ae2f8fbacf3f199f1a42e163c3485cfed0a6e",
    ),
    (
        "m0002_jobs",
        "../jobs/src/migration.rs",
        "b36a7a10d7033f8658c66fddc07d3d7ceadd37b1b1e1cef8a754011b2ccfec82",
    ),
    (
        "m0003_accounts",
        "src/migration/m0003_accounts.rs",
        "27363cdea26fde2a622d2046e06f1b9d4b1ff081e3ff947ea91230895acd1907",
    ),
    (
        "m0004_openedx",
        "src/migration/m0004_openedx.rs",
        "f89ae5e5b668b748d6262da8aa8e9983ff6c75979fe58d7631cf3f27e01651bf",
    ),
    (
        "m0005_enrollments",
        "src/migration/m0005_enrollments.rs",
        "ad473a162ed86ca857dbc0b8fea95e3f21c22dba7725ca94a2e2552b3de98a3c",
    ),
    (
        "m0006_oauth2",
        "src/migration/m0006_oauth2.rs",
        "0a3bb386dc0ce06e2c09ea31f25115fc2d2b7f00ebf341f81feea605fe34397b",
    ),
    (
        "m0007_openedx_tokens",
        "src/migration/m0007_openedx_tokens.rs",
        "c72adbc17933f0132e9ff33af53b99a8843c9e45dc2d16c1c1108dd4422291ce",
    ),
    (
        "m0008_compliance",
        "src/migration/m0008_compliance.rs",
        "0291f5b5e1ed3b92bc845a8b24dec18a0f18447ca06fc06543e73a430ab82e81",
    ),
    (
        "m0009_commerce",
        "src/migration/m0009_commerce.rs",
        "ca151b0558134d861dbcf704cca64148913c93ad1570667fea81f88c6dec70f4",
    ),
    (
        "m0010_refund_requests",
        "src/migration/m0010_refund_requests.rs",
        "63ffb05620f680ef1bb2c15649838d78ef0099ed84c384f30c1f1b33b25c4562",
    ),
    (
        "m0011_jobs_wake_trigger",
        "../jobs/src/migration.rs",
        "b36a7a10d7033f8658c66fddc07d3d7ceadd37b1b1e1cef8a754011b2ccfec82",
    ),
    (
        "m0012_bulk_orders",
        "src/migration/m0012_bulk_orders.rs",
        "95d2696a69dcb86c49dc1cb3850d1b8d23f12ab615ad1795ae436ac34b876604",
    ),
    (
        "m0013_blocked_countries",
        "src/migration/m0013_blocked_countries.rs",
        "93921e3f51da84afd9dbcf4f9cd518439d40924c841a03ff3d675a1e1fd50732",
    ),
    (
        "m0014_geoip",
        "src/migration/m0014_geoip.rs",
        "101e1c679b9790afef4852b637a34fb1c0ac0c572cec61b83596d2ec6c447b58",
    ),
    (
        "m0015_program_runs",
        "src/migration/m0015_program_runs.rs",
        "e5c7a054075df56a92b9e9d655d7283abe94f624a629c1282d93f73db4c0fab0",
    ),
    (
        "m0016_payment_transactions",
        "src/migration/m0016_payment_transactions.rs",
        "43e153fbc80ba7087cb6c70e958e8a3ac22eecd449511c3d70021062b3958612",
    ),
    (
        "m0017_certificates",
        "src/migration/m0017_certificates.rs",
        "69a5c524cb8775a3f17d5628956ed1ae0c86a01f37f0bc6dbf8866cb88c01aac",
    ),
    (
        "m0018_signatories",
        "src/migration/m0018_signatories.rs",
        "507ad56a9aab8f35065e76cfec2d1256c477d81b65b421a755c761511193766f",
    ),
    (
        "m0019_crm",
        "src/migration/m0019_crm.rs",
        "6f9ea8463481a5ecb202bf5816f2b38196ecdef22146e2d9ac703ecb37f449df",
    ),
    (
        "m0020_sheets",
        "src/migration/m0020_sheets.rs",
        "ba67a2f5a5e0028f6aafb98eaf5e32e86890cbd44a775f5449acfa3c3e9334c0",
    ),
    (
        "m0021_mail",
        "src/migration/m0021_mail.rs",
        "f8d4443ae000938c08f61bd81c0bbdd50cd22084cb77c8cdea4200e341eaf763",
    ),
    (
        "m0022_coupon_requests",
        "src/migration/m0022_coupon_requests.rs",
        "2c30c7724949723ecfa6487af9a398ad82874430d97942c614710782d9701053",
    ),
    (
        "m0023_code_sheets",
        "src/migration/m0023_code_sheets.rs",
        "d7a6dd46c34c2d35bd1fc67843cd653c26edc43f36002380b5d7d0cf2d60ca64",
    ),
    (
        "m0024_jobs_follow_ups",
        "../jobs/src/migration.rs",
        "b36a7a10d7033f8658c66fddc07d3d7ceadd37b1b1e1cef8a754011b2ccfec82",
    ),
    (
        "m0025_sign_in_security",
        "src/migration/m0025_sign_in_security.rs",
        "307baca18ff502bc4cfc6df0fb6e4de51ca1a491c4d368618f46041c6f2fb999",
    ),
];

fn digest(path: &str) -> String {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    // Line endings as checked out must not matter.
    format!(
        "{:x}",
        Sha256::digest(text.replace("\r\n", "\n").as_bytes())
    )
}

#[test]
fn migrations_are_one_numbered_list_and_released_ones_are_unchanged() {
    let names = store::Store::migration_names();
    let pinned: Vec<&str> = PINNED.iter().map(|(name, _, _)| *name).collect();
    assert_eq!(
        names, pinned,
        "a new migration goes at the end of Migrator::migrations and gets its pin here"
    );
    for (position, name) in names.iter().enumerate() {
        let number: usize = name[1..5]
            .parse()
            .unwrap_or_else(|_| panic!("{name}: mNNNN_"));
        assert_eq!(number, position + 1, "{name}: the numbering has no gaps");
    }
    for (name, path, pinned) in PINNED {
        assert_eq!(
            digest(path),
            *pinned,
            "{name} ({path}) changed: a released migration is never edited; write a new one"
        );
    }
}
