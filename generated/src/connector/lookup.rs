//! Names the unified API uses for what providers address by id: custom
//! fields (keyed by the `name` their definitions endpoint gives) with their
//! option labels, and stages. Shared by every glue, so the rules are one:
//! a name two definitions share is never silently resolved to one of them.

use crm_runtime::mapping::{CustomFieldDefinition, MappingError, Stage};
use serde_json::Value;

/// An account's custom field definitions, addressed by name.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CustomFields {
    definitions: Vec<CustomFieldDefinition>,
}

impl CustomFields {
    pub fn new(definitions: Vec<CustomFieldDefinition>) -> Self {
        CustomFields { definitions }
    }

    pub fn definitions(&self) -> &[CustomFieldDefinition] {
        &self.definitions
    }

    fn shares_name(&self, definition: &CustomFieldDefinition) -> bool {
        self.definitions
            .iter()
            .any(|other| other.name == definition.name && other.id != definition.id)
    }

    /// The definition of a provider field id.
    pub fn by_id(&self, id: &str) -> Option<&CustomFieldDefinition> {
        self.definitions
            .iter()
            .find(|definition| definition.id == id)
    }

    /// The unified key of a provider field id: its name, or, when another
    /// definition has the same name, `name (id)` (so neither value
    /// overwrites the other); the id itself when no definition has it.
    pub fn key_of(&self, id: &str) -> String {
        match self.by_id(id) {
            Some(definition) if self.shares_name(definition) => {
                format!("{} ({})", definition.name, definition.id)
            }
            Some(definition) => definition.name.clone(),
            None => id.to_owned(),
        }
    }

    /// The definition a unified key names: a name, `name (id)`, or an id.
    /// An unknown key asks for fresh definitions once
    /// ([`MappingError::unknown_name`]); a name two definitions share is
    /// refused naming both.
    pub fn by_key(
        &self,
        provider: &'static str,
        key: &str,
        value: &Value,
    ) -> Result<&CustomFieldDefinition, MappingError> {
        let field = format!("custom_fields.{key}");
        let named: Vec<&CustomFieldDefinition> = self
            .definitions
            .iter()
            .filter(|definition| definition.name == key)
            .collect();
        match named.as_slice() {
            [only] => return Ok(only),
            [] => {}
            several => {
                let ids: Vec<&str> = several.iter().map(|d| d.id.as_str()).collect();
                return Err(MappingError::new(
                    provider,
                    field,
                    value,
                    format!(
                        "{} custom fields are named `{key}` (ids {}); address one as `{key} (<id>)`",
                        several.len(),
                        ids.join(", ")
                    ),
                ));
            }
        }
        self.definitions
            .iter()
            .find(|definition| {
                definition.id == key || format!("{} ({})", definition.name, definition.id) == key
            })
            .ok_or_else(|| {
                MappingError::unknown_name(
                    provider,
                    field,
                    value,
                    "no opportunity custom field has this name",
                )
            })
    }
}

/// The label of a choice field's option id (the id itself when unknown).
pub fn option_label(definition: &CustomFieldDefinition, id: &str) -> String {
    definition
        .options
        .iter()
        .find(|(option, _)| option == id)
        .map_or_else(|| id.to_owned(), |(_, label)| label.clone())
}

/// The option id of a label of a choice field.
pub fn option_id<'a>(
    provider: &'static str,
    definition: &'a CustomFieldDefinition,
    label: &str,
) -> Result<&'a str, MappingError> {
    definition
        .options
        .iter()
        .find(|(_, option)| option == label)
        .map(|(id, _)| id.as_str())
        .ok_or_else(|| {
            let labels: Vec<&str> = definition.options.iter().map(|(_, l)| l.as_str()).collect();
            MappingError::unknown_name(
                provider,
                format!("custom_fields.{}", definition.name),
                label,
                format!("is not an option; the options are {}", labels.join(", ")),
            )
        })
}

/// The stage a unified `{id, name}` names: by id when given, else by name
/// among the account's stages. A name no stage has asks for fresh stages
/// once; a name several stages share (in several pipelines) is refused.
pub fn stage_id(
    provider: &'static str,
    stages: &[Stage],
    id: Option<&str>,
    name: Option<&str>,
) -> Result<String, MappingError> {
    if let Some(id) = id {
        return Ok(id.to_owned());
    }
    let Some(name) = name else {
        return Err(MappingError::new(
            provider,
            "stage",
            "{}",
            "give the stage's id or name",
        ));
    };
    let named: Vec<&Stage> = stages.iter().filter(|stage| stage.name == name).collect();
    match named.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(MappingError::unknown_name(
            provider,
            "stage",
            name,
            "no stage of the account has this name",
        )),
        several => {
            let ids: Vec<&str> = several.iter().map(|stage| stage.id.as_str()).collect();
            Err(MappingError::new(
                provider,
                "stage",
                name,
                format!(
                    "{} stages have this name (ids {}); give the stage's id",
                    several.len(),
                    ids.join(", ")
                ),
            ))
        }
    }
}

/// The name of a stage id, when the account has it.
pub fn stage_name(stages: &[Stage], id: &str) -> Option<String> {
    stages
        .iter()
        .find(|stage| stage.id == id)
        .map(|stage| stage.name.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn definition(id: &str, name: &str) -> CustomFieldDefinition {
        CustomFieldDefinition {
            id: id.into(),
            name: name.into(),
            data_type: "text".into(),
            options: vec![("1".into(), "Red".into())],
            ..Default::default()
        }
    }

    #[test]
    fn a_shared_name_is_never_resolved_to_one_of_them() {
        let fields = CustomFields::new(vec![
            definition("a", "Region"),
            definition("b", "Region"),
            definition("c", "Tier"),
        ]);
        assert_eq!(fields.key_of("a"), "Region (a)");
        assert_eq!(fields.key_of("c"), "Tier");
        let error = fields.by_key("x", "Region", &json!(1)).unwrap_err();
        assert!(error.reason.contains("ids a, b"), "{}", error.reason);
        assert!(!error.stale_context);
        assert_eq!(fields.by_key("x", "Region (b)", &json!(1)).unwrap().id, "b");
        assert!(
            fields
                .by_key("x", "Nope", &json!(1))
                .unwrap_err()
                .stale_context
        );
    }

    #[test]
    fn stages_resolve_by_id_or_unique_name() {
        let stages = vec![
            Stage {
                id: "1".into(),
                name: "Won".into(),
                ..Default::default()
            },
            Stage {
                id: "2".into(),
                name: "Lost".into(),
                ..Default::default()
            },
        ];
        assert_eq!(stage_id("x", &stages, None, Some("Lost")).unwrap(), "2");
        assert_eq!(
            stage_id("x", &stages, Some("9"), Some("Lost")).unwrap(),
            "9"
        );
        assert!(
            stage_id("x", &stages, None, Some("Nope"))
                .unwrap_err()
                .stale_context
        );
        assert!(stage_id("x", &stages, None, None).is_err());
    }
}
