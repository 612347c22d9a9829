//! Accounts: the parse-don't-validate types of sign-up and profile forms.

use serde::{Deserialize, Serialize};

use crate::catalog::validate::FieldErrors;

/// ISO 3166-1 alpha-2 codes.
pub const COUNTRIES: &[&str] = &[
    "AD", "AE", "AF", "AG", "AI", "AL", "AM", "AO", "AQ", "AR", "AS", "AT", "AU", "AW", "AX", "AZ",
    "BA", "BB", "BD", "BE", "BF", "BG", "BH", "BI", "BJ", "BL", "BM", "BN", "BO", "BQ", "BR", "BS",
    "BT", "BV", "BW", "BY", "BZ", "CA", "CC", "CD", "CF", "CG", "CH", "CI", "CK", "CL", "CM", "CN",
    "CO", "CR", "CU", "CV", "CW", "CX", "CY", "CZ", "DE", "DJ", "DK", "DM", "DO", "DZ", "EC", "EE",
    "EG", "EH", "ER", "ES", "ET", "FI", "FJ", "FK", "FM", "FO", "FR", "GA", "GB", "GD", "GE", "GF",
    "GG", "GH", "GI", "GL", "GM", "GN", "GP", "GQ", "GR", "GS", "GT", "GU", "GW", "GY", "HK", "HM",
    "HN", "HR", "HT", "HU", "ID", "IE", "IL", "IM", "IN", "IO", "IQ", "IR", "IS", "IT", "JE", "JM",
    "JO", "JP", "KE", "KG", "KH", "KI", "KM", "KN", "KP", "KR", "KW", "KY", "KZ", "LA", "LB", "LC",
    "LI", "LK", "LR", "LS", "LT", "LU", "LV", "LY", "MA", "MC", "MD", "ME", "MF", "MG", "MH", "MK",
    "ML", "MM", "MN", "MO", "MP", "MQ", "MR", "MS", "MT", "MU", "MV", "MW", "MX", "MY", "MZ", "NA",
    "NC", "NE", "NF", "NG", "NI", "NL", "NO", "NP", "NR", "NU", "NZ", "OM", "PA", "PE", "PF", "PG",
    "PH", "PK", "PL", "PM", "PN", "PR", "PS", "PT", "PW", "PY", "QA", "RE", "RO", "RS", "RU", "RW",
    "SA", "SB", "SC", "SD", "SE", "SG", "SH", "SI", "SJ", "SK", "SL", "SM", "SN", "SO", "SR", "SS",
    "ST", "SV", "SX", "SY", "SZ", "TC", "TD", "TF", "TG", "TH", "TJ", "TK", "TL", "TM", "TN", "TO",
    "TR", "TT", "TV", "TW", "TZ", "UA", "UG", "UM", "US", "UY", "UZ", "VA", "VC", "VE", "VG", "VI",
    "VN", "VU", "WF", "WS", "YE", "YT", "ZA", "ZM", "ZW",
];
const US_STATES: &[&str] = &[
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA",
    "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM",
    "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA",
    "WV", "WI", "WY", "AS", "GU", "MP", "PR", "UM", "VI",
];
const CA_PROVINCES: &[&str] = &[
    "AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK", "YT",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("is not an email address")]
    NotEmail,
    #[error("must be 3 to 30 characters: letters, digits, _ - .")]
    BadUsername,
    #[error("must be at least 8 characters and not only digits")]
    WeakPassword,
}

/// An email address, compared case-insensitively (stored lower-cased), as both references
/// treat them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    pub fn parse(value: &str) -> Result<Self, AccountError> {
        let value = value.trim().to_lowercase();
        let (local, domain) = value.split_once('@').ok_or(AccountError::NotEmail)?;
        let ok = !local.is_empty()
            && local.len() <= 64
            && value.len() <= 254
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && !value
                .chars()
                .any(|c| c.is_whitespace() || c == ',' || c == '<' || c == '>')
            && value.matches('@').count() == 1;
        if ok {
            Ok(Self(value))
        } else {
            Err(AccountError::NotEmail)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.split_once('@').map(|(_, d)| d).unwrap_or_default()
    }
}

impl TryFrom<String> for Email {
    type Error = AccountError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

/// The username, which becomes the Open edX username (edX allows 2-30 characters of
/// letters, digits and _ - .; we ask for at least 3).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Username(String);

impl Username {
    pub fn parse(value: &str) -> Result<Self, AccountError> {
        let value = value.trim();
        let ok = (3..=30).contains(&value.chars().count())
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if ok {
            Ok(Self(value.to_string()))
        } else {
            Err(AccountError::BadUsername)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password that meets the policy; never stored, only hashed.
pub struct Password(String);

impl Password {
    pub fn parse(value: &str) -> Result<Self, AccountError> {
        if value.chars().count() >= 8 && !value.chars().all(|c| c.is_ascii_digit()) {
            Ok(Self(value.to_string()))
        } else {
            Err(AccountError::WeakPassword)
        }
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The legal address of a learner (xPRO `LegalAddress`, MITx Online the same): names,
/// country, and for the United States and Canada a state or province (`US-MA`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LegalAddress {
    pub first_name: String,
    pub last_name: String,
    pub country: String,
    pub state: Option<String>,
}

/// Names may not start with punctuation nor hold the characters xPRO's `USER_NAME_RE` refuses.
fn valid_name(name: &str) -> bool {
    let name = name.trim();
    !name.is_empty()
        && name.chars().count() <= 60
        && !name.starts_with(|c: char| c.is_ascii_punctuation())
        && !name.chars().any(|c| "/^$#*=[]`%_;<>{}\"|".contains(c))
}

impl LegalAddress {
    pub fn validate(&self) -> FieldErrors {
        let mut errors = FieldErrors::default();
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            if !valid_name(value) {
                errors.add(field, "must be 1-60 characters and not start with punctuation or hold / ^ $ # * = [ ] ` % _ ; < > { } \" |");
            }
        }
        if !COUNTRIES.contains(&self.country.as_str()) {
            errors.add("country", "choose a country");
        }
        let subdivisions: Option<&[&str]> = match self.country.as_str() {
            "US" => Some(US_STATES),
            "CA" => Some(CA_PROVINCES),
            _ => None,
        };
        if let Some(list) = subdivisions {
            let code = self
                .state
                .as_deref()
                .and_then(|s| s.strip_prefix(&format!("{}-", self.country)));
            if !code.is_some_and(|c| list.contains(&c)) {
                errors.add(
                    "state",
                    "is required for the United States and Canada, as in US-MA or CA-ON",
                );
            }
        }
        errors
    }

    /// The state or province choices for a country, as `US-MA`.
    pub fn subdivisions(country: &str) -> Vec<String> {
        let list: &[&str] = match country {
            "US" => US_STATES,
            "CA" => CA_PROVINCES,
            _ => &[],
        };
        list.iter().map(|c| format!("{country}-{c}")).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails() {
        assert_eq!(
            Email::parse(" Ada@Example.EDU ").unwrap().as_str(),
            "ada@example.edu"
        );
        assert_eq!(
            Email::parse("ada@example.edu").unwrap().domain(),
            "example.edu"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@x.org",
            "a@b",
            "a@@b.org",
            "a b@c.org",
            "a@.org",
            "a@b..org",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usernames_and_passwords() {
        assert!(Username::parse("ada_l.ovelace-1").is_ok());
        for bad in ["ab", "has space", "ünï", &"x".repeat(31)] {
            assert!(Username::parse(bad).is_err(), "{bad}");
        }
        assert!(Password::parse("correct horse").is_ok());
        assert!(Password::parse("short").is_err());
        assert!(Password::parse("12345678").is_err());
    }

    #[test]
    fn legal_address_rules() {
        let ok = LegalAddress {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            country: "GB".into(),
            state: None,
        };
        assert!(ok.validate().is_empty());
        let us = LegalAddress {
            country: "US".into(),
            ..ok.clone()
        };
        assert!(us.validate().get("state").is_some(), "US needs a state");
        assert!(
            LegalAddress {
                state: Some("US-MA".into()),
                ..us.clone()
            }
            .validate()
            .is_empty()
        );
        assert!(
            LegalAddress {
                state: Some("US-ZZ".into()),
                ..us.clone()
            }
            .validate()
            .get("state")
            .is_some()
        );
        assert!(
            LegalAddress {
                country: "CA".into(),
                state: Some("CA-ON".into()),
                ..ok.clone()
            }
            .validate()
            .is_empty()
        );
        let bad = LegalAddress {
            first_name: "-Ada".into(),
            last_name: "Love<lace".into(),
            country: "XX".into(),
            state: None,
        };
        let errors = bad.validate();
        for field in ["first_name", "last_name", "country"] {
            assert!(errors.get(field).is_some(), "{field}");
        }
        assert_eq!(LegalAddress::subdivisions("CA").len(), 13);
    }
}
