//! Which unified fields a provider reads, takes and requires, as each
//! provider spec's `x-unified-fields` declares them per operation.
//! Generated code carries the tables; [`check`] refuses a write before any
//! network call.

/// The support of one operation: the unified fields it can carry, and
/// those it cannot do without.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OperationSupport {
    pub supported: &'static [&'static str],
    pub required: &'static [&'static str],
}

/// The support of a unified resource by one provider.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceSupport {
    /// Fields a read (get, list) can return.
    pub read: &'static [&'static str],
    pub create: OperationSupport,
    pub update: OperationSupport,
    /// The list filters (`crate::mapping::FILTERS`) the provider applies.
    pub filters: &'static [&'static str],
    /// The others, each with the reason the provider cannot apply it.
    pub unsupported_filters: &'static [Unsupported],
}

/// Something a provider cannot do, and why (served in the spec and in
/// the 400 a request for it gets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsupported {
    pub name: &'static str,
    pub reason: &'static str,
}

/// The lookups (`custom_fields.list`, `stages.list`, `users.list`) a
/// provider does not serve, with the reason; the others it binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LookupSupport {
    pub unsupported: &'static [Unsupported],
}

impl LookupSupport {
    /// Why the provider does not serve `binding`, or `None` when it does.
    pub fn reason(&self, binding: &str) -> Option<&'static str> {
        self.unsupported
            .iter()
            .find(|entry| entry.name == binding)
            .map(|entry| entry.reason)
    }
}

impl ResourceSupport {
    /// Why the provider cannot apply the list filter `name`, or `None`
    /// when it can.
    pub fn filter_refusal(&self, name: &str) -> Option<&'static str> {
        if self.filters.contains(&name) {
            return None;
        }
        Some(
            self.unsupported_filters
                .iter()
                .find(|entry| entry.name == name)
                .map_or("the provider's spec does not declare it", |entry| {
                    entry.reason
                }),
        )
    }
}

/// A field of a unified schema, as rendering needs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldInfo {
    /// The wire name.
    pub name: &'static str,
    /// `format: date-time`: written in UTC by the `normalized` format.
    pub date_time: bool,
}

/// What is wrong with one field of a write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldProblem {
    /// The provider requires it and it is not set.
    Missing(&'static str),
    /// It is set and the provider cannot store it.
    Unsupported(String),
}

impl FieldProblem {
    pub fn field(&self) -> &str {
        match self {
            FieldProblem::Missing(field) => field,
            FieldProblem::Unsupported(field) => field,
        }
    }
}

/// Fields every provider carries whatever its table says.
const ALWAYS: &[&str] = &["remote_data"];

/// Every problem of a write that sets `fields_set`.
pub fn check(support: &OperationSupport, fields_set: &[&str]) -> Vec<FieldProblem> {
    let mut problems: Vec<FieldProblem> = fields_set
        .iter()
        .filter(|field| !support.supported.contains(field) && !ALWAYS.contains(field))
        .map(|field| FieldProblem::Unsupported((*field).to_owned()))
        .collect();
    problems.extend(
        support
            .required
            .iter()
            .filter(|field| !fields_set.contains(field))
            .map(|field| FieldProblem::Missing(field)),
    );
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: OperationSupport = OperationSupport {
        supported: &["name", "account"],
        required: &["account"],
    };

    #[test]
    fn every_offending_field_is_named() {
        assert_eq!(
            check(&CREATE, &["tags", "remote_data"]),
            [
                FieldProblem::Unsupported("tags".into()),
                FieldProblem::Missing("account")
            ]
        );
        assert_eq!(check(&CREATE, &["name", "account"]), []);
    }
}
