//! One broken rule, and the list a check collects so that a customer hears of every problem at
//! once.

/// One broken business rule: a stable machine-readable `code` (`<field>.<problem>`, for example
/// `phone.invalid`), the input `field` it concerns, and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Violation {
    pub code: String,
    pub field: String,
    pub message: String,
}

impl Violation {
    pub fn new(field: &str, code: &str, message: impl Into<String>) -> Self {
        Self {
            code: code.to_owned(),
            field: field.to_owned(),
            message: message.into(),
        }
    }

    /// The violation of `field` whose text did not parse.
    pub fn of(field: &str, error: FormatError) -> Self {
        Self {
            code: format!("{field}.{}", error.problem),
            field: field.to_owned(),
            message: error.message.to_owned(),
        }
    }
}

/// Why a text is not a value of a type: the problem half of a violation's code and a sentence
/// for the customer. The field is the caller's to name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatError {
    pub problem: &'static str,
    pub message: &'static str,
}

impl FormatError {
    pub(crate) const fn invalid(message: &'static str) -> Self {
        Self {
            problem: "invalid",
            message,
        }
    }
}

/// The broken rules found so far, in the order the fields were checked.
#[derive(Debug, Default)]
pub struct Violations(Vec<Violation>);

impl Violations {
    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.0.push(Violation::new(field, code, message));
    }

    pub fn push(&mut self, violation: Violation) {
        self.0.push(violation);
    }

    /// The parsed value, or `None` with the field's violation noted.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, FormatError>) -> Option<T> {
        parsed
            .map_err(|error| self.push(Violation::of(field, error)))
            .ok()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// `value` when nothing was broken, else every violation.
    pub fn into_result<T>(self, value: T) -> Result<T, Vec<Violation>> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_format_error_becomes_the_fields_violation() {
        let mut v = Violations::default();
        assert_eq!(
            v.check::<()>("nationality", Err(FormatError::invalid("No."))),
            None
        );
        assert_eq!(v.check("phone", Ok(7)), Some(7));
        assert_eq!(
            v.into_vec(),
            [Violation::new("nationality", "nationality.invalid", "No.")]
        );
    }
}
