//! Which providers support which fields and operations, as the unified
//! spec's `x-supported-in` / `x-required-in` extensions say. Generated
//! write bodies carry these tables; [`check`] refuses a write before any
//! network call.

/// The support of one field of a write body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldSupport {
    /// The wire name.
    pub field: &'static str,
    pub supported_in: &'static [&'static str],
    pub required_in: &'static [&'static str],
}

/// What is wrong with one field of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    /// The provider requires it and it is not set.
    Missing(&'static str),
    /// It is set and the provider cannot store it.
    Unsupported(&'static str),
}

impl FieldProblem {
    pub fn field(&self) -> &'static str {
        match self {
            FieldProblem::Missing(field) | FieldProblem::Unsupported(field) => field,
        }
    }
}

/// Every problem of a write to `provider` that sets `fields_set`.
pub fn check(provider: &str, table: &[FieldSupport], fields_set: &[&str]) -> Vec<FieldProblem> {
    let mut problems = Vec::new();
    for support in table {
        let is_set = fields_set.contains(&support.field);
        if is_set && !support.supported_in.contains(&provider) {
            problems.push(FieldProblem::Unsupported(support.field));
        } else if !is_set && support.required_in.contains(&provider) {
            problems.push(FieldProblem::Missing(support.field));
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: &[FieldSupport] = &[
        FieldSupport {
            field: "name",
            supported_in: &["copper"],
            required_in: &["copper"],
        },
        FieldSupport {
            field: "account",
            supported_in: &["close", "copper"],
            required_in: &["close"],
        },
    ];

    #[test]
    fn every_offending_field_is_named() {
        assert_eq!(
            check("close", TABLE, &["name"]),
            [
                FieldProblem::Unsupported("name"),
                FieldProblem::Missing("account")
            ]
        );
        assert_eq!(check("copper", TABLE, &["name"]), []);
        assert_eq!(check("copper", TABLE, &[]), [FieldProblem::Missing("name")]);
    }
}
