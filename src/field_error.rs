//! The error for one invalid input field, shared by every parser.

use std::fmt;

/// An input value that cannot be used, with the field it came from.
///
/// The message states what is wrong and how to fix it. It never repeats a
/// secret: callers describe secrets by length or by the offending
/// character's position, not by value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: &'static str,
    pub kind: FieldErrorKind,
    pub message: String,
}

/// Whether the field was absent or present but unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldErrorKind {
    Missing,
    Invalid,
}

impl FieldError {
    pub fn missing(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field, kind: FieldErrorKind::Missing, message: message.into() }
    }

    pub fn invalid(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError { field, kind: FieldErrorKind::Invalid, message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

impl std::error::Error for FieldError {}
