//! Identifiers parsed at the boundary, so the rest of the code never re-checks them.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most {max} characters")]
    TooLong { max: usize },
    #[error("may contain only letters, digits and the characters _ - + : .")]
    BadCharacter,
    #[error("must be an Open edX course key of the form course-v1:ORG+NUMBER+RUN")]
    NotCourseKey,
}

const READABLE_ID_MAX: usize = 255;

fn allowed(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '+' | ':' | '.')
}

/// A course or program `readable_id` (`course-v1:MITxT+18.03.1x`, `program-v1:xPRO+QCR`):
/// the pattern `^[\w\-+:\.]+$`, at most 255 characters, as both references validate it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ReadableId(String);

impl ReadableId {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        if value.is_empty() {
            return Err(IdError::Empty);
        }
        if value.chars().count() > READABLE_ID_MAX {
            return Err(IdError::TooLong {
                max: READABLE_ID_MAX,
            });
        }
        if !value.chars().all(allowed) {
            return Err(IdError::BadCharacter);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The MITx Online course number: the part after the last `+`.
    pub fn course_number(&self) -> &str {
        self.0.rsplit('+').next().unwrap_or(&self.0)
    }
}

impl TryFrom<String> for ReadableId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<ReadableId> for String {
    fn from(value: ReadableId) -> Self {
        value.0
    }
}

impl fmt::Display for ReadableId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An Open edX course-run key `course-v1:ORG+NUMBER+RUN`, the `courseware_id` of a run.
/// Matches the references' `COURSE_KEY_PATTERN` (`^course-v1:[^+]+\+[^+]+\+[^+]+$`) and the
/// readable-id character set.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CoursewareId(String);

const COURSE_KEY_PREFIX: &str = "course-v1:";

impl CoursewareId {
    pub fn parse(value: impl Into<String>) -> Result<Self, IdError> {
        let value = value.into();
        ReadableId::parse(value.as_str())?;
        let rest = value
            .strip_prefix(COURSE_KEY_PREFIX)
            .ok_or(IdError::NotCourseKey)?;
        let parts: Vec<&str> = rest.split('+').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(IdError::NotCourseKey);
        }
        Ok(Self(value))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn part(&self, index: usize) -> &str {
        self.0[COURSE_KEY_PREFIX.len()..]
            .split('+')
            .nth(index)
            .expect("checked at parse")
    }

    pub fn org(&self) -> &str {
        self.part(0)
    }

    /// The course number (`18.03.1x` in `course-v1:MITxT+18.03.1x+1T2027`), as the
    /// MITx Online run serializer's `course_number` reports it.
    pub fn number(&self) -> &str {
        self.part(1)
    }

    pub fn run(&self) -> &str {
        self.part(2)
    }
}

impl TryFrom<String> for CoursewareId {
    type Error = IdError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl From<CoursewareId> for String {
    fn from(value: CoursewareId) -> Self {
        value.0
    }
}

impl fmt::Display for CoursewareId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readable_id_accepts_reference_examples() {
        for ok in [
            "course-v1:MITxT+18.03.1x",
            "program-v1:xPRO+QCR",
            "program-v1:MITx+DEDP",
        ] {
            assert_eq!(ReadableId::parse(ok).unwrap().as_str(), ok);
        }
    }

    #[test]
    fn readable_id_rejects_empty_long_and_odd_characters() {
        assert_eq!(ReadableId::parse(""), Err(IdError::Empty));
        assert_eq!(
            ReadableId::parse("a".repeat(256)),
            Err(IdError::TooLong { max: 255 })
        );
        assert!(ReadableId::parse("a".repeat(255)).is_ok());
        assert_eq!(ReadableId::parse("has space"), Err(IdError::BadCharacter));
        assert_eq!(ReadableId::parse("slash/no"), Err(IdError::BadCharacter));
    }

    #[test]
    fn course_number_is_the_last_segment() {
        let id = ReadableId::parse("course-v1:MITxT+18.03.1x").unwrap();
        assert_eq!(id.course_number(), "18.03.1x");
    }

    #[test]
    fn courseware_id_parts() {
        let key = CoursewareId::parse("course-v1:MITxT+18.03.1x+1T2027").unwrap();
        assert_eq!(key.org(), "MITxT");
        assert_eq!(key.number(), "18.03.1x");
        assert_eq!(key.run(), "1T2027");
    }

    #[test]
    fn courseware_id_rejects_malformed_keys() {
        for bad in [
            "course-v1:MITxT+18.03.1x",
            "course-v1:MITxT++R1",
            "course-v1:A+B+C+D",
            "MITxT+18.03.1x+1T2027",
            "course-v1:A+B+C D",
            "",
        ] {
            assert!(
                CoursewareId::parse(bad).is_err(),
                "{bad} should be rejected"
            );
        }
    }

    #[test]
    fn serde_round_trip_validates() {
        let key: CoursewareId = serde_json::from_str("\"course-v1:xPRO+QCRx1+R11\"").unwrap();
        assert_eq!(
            serde_json::to_string(&key).unwrap(),
            "\"course-v1:xPRO+QCRx1+R11\""
        );
        assert!(serde_json::from_str::<CoursewareId>("\"nope\"").is_err());
    }
}
