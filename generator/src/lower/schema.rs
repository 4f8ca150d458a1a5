//! Schemas to types.

use super::Lowerer;
use crate::diagnostic::{pointer_tokens, push_pointer};
use crate::model::{
    AdditionalField, Enum, EnumVariant, Field, Presence, Struct, Type, TypeDef, TypeKind, Union,
    UnionVariant,
};
use crate::names::{Namespace, snake_name, type_name};
use indexmap::IndexMap;
use openapiv3::{
    AdditionalProperties, AnySchema, IntegerFormat, NumberFormat, ReferenceOr, Schema, SchemaData,
    SchemaKind, StringFormat, VariantOrUnknownOrEmpty,
};
use std::borrow::Cow;

/// Nesting deeper than this is typed as JSON rather than followed further;
/// real documents stay far below it.
const MAX_DEPTH: usize = 64;

/// Where a schema being lowered gets its name from.
#[derive(Clone, Copy)]
pub(super) struct Target<'n> {
    /// The exact name to define (already claimed), for component schemas.
    pub name: Option<&'n str>,
    /// Optional fields become three-state `Patch` fields.
    pub patch: bool,
}

impl Target<'_> {
    const INLINE: Target<'static> = Target {
        name: None,
        patch: false,
    };
}

type Properties = IndexMap<String, ReferenceOr<Box<Schema>>>;

impl<'a> Lowerer<'a> {
    /// Lowers a component (or another schema that must carry `name`):
    /// when the schema is not itself a struct, enum or union, `name`
    /// becomes an alias.
    pub(super) fn define_named(
        &mut self,
        schema: &ReferenceOr<Schema>,
        name: &str,
        pointer: &str,
        patch: bool,
    ) {
        let slot = self.reserve_slot();
        let ty = match schema {
            ReferenceOr::Reference { reference } => self.ref_type(reference, name, pointer),
            ReferenceOr::Item(schema) => self.inline(
                schema,
                name,
                pointer,
                Target {
                    name: Some(name),
                    patch,
                },
            ),
        };
        // A component marked nullable is wrapped in `Option` where it is
        // referenced; nullability from inside (an `anyOf` with null) stays
        // in the alias.
        let declared_nullable = self
            .components
            .values()
            .any(|info| info.rust_name == name && info.nullable);
        let ty = if declared_nullable {
            ty.strip_option().0
        } else {
            ty
        };
        if ty.clone().strip_option().0 != Type::Named(name.to_owned()) {
            let doc = match schema {
                ReferenceOr::Item(schema) => doc_of(&schema.schema_data),
                ReferenceOr::Reference { .. } => None,
            };
            self.fill_slot(
                slot,
                TypeDef {
                    name: name.to_owned(),
                    doc,
                    kind: TypeKind::Alias(ty),
                },
            );
        }
    }

    pub(super) fn schema_type(
        &mut self,
        schema: &ReferenceOr<Schema>,
        hint: &str,
        pointer: &str,
    ) -> Type {
        match schema {
            ReferenceOr::Reference { reference } => self.ref_type(reference, hint, pointer),
            ReferenceOr::Item(schema) => self.inline(schema, hint, pointer, Target::INLINE),
        }
    }

    fn boxed_schema_type(
        &mut self,
        schema: &ReferenceOr<Box<Schema>>,
        hint: &str,
        pointer: &str,
    ) -> Type {
        match schema {
            ReferenceOr::Reference { reference } => self.ref_type(reference, hint, pointer),
            ReferenceOr::Item(schema) => self.inline(schema, hint, pointer, Target::INLINE),
        }
    }

    pub(super) fn ref_type(&mut self, reference: &str, hint: &str, pointer: &str) -> Type {
        if let Some(key) = component_key(reference) {
            if let Some(info) = self.components.get(&key) {
                let ty = Type::Named(info.rust_name.clone());
                return if info.nullable { ty.nullable() } else { ty };
            }
        }
        // One key however the reference is percent-encoded.
        let key = crate::reference::canonical(reference).into_owned();
        if let Some(ty) = self.deep_refs.get(&key) {
            return ty.clone();
        }
        let Some(schema) = self.resolve_schema(reference, pointer) else {
            return Type::Json;
        };
        let fragment = crate::reference::pointer_of(reference.trim_start_matches('#'));
        let hint = pointer_tokens(&fragment)
            .last()
            .map(|token| type_name(token))
            .unwrap_or_else(|| hint.to_owned());
        // Placeholder first: a schema that reaches itself through a deep
        // reference stops here instead of recursing forever.
        self.deep_refs.insert(key.clone(), Type::Json);
        let ty = self.inline(&schema, &hint, &fragment, Target::INLINE);
        self.deep_refs.insert(key, ty.clone());
        ty
    }

    /// The schema a local `$ref` points at.
    pub(super) fn resolve_schema(
        &mut self,
        reference: &str,
        pointer: &str,
    ) -> Option<Cow<'a, Schema>> {
        let doc = self.doc;
        if let Some(key) = component_key(reference) {
            match doc
                .components
                .as_ref()
                .and_then(|components| components.schemas.get(&key))
            {
                Some(ReferenceOr::Item(schema)) => return Some(Cow::Borrowed(schema)),
                Some(ReferenceOr::Reference { .. }) | None => {}
            }
        }
        let node = crate::reference::follow_local(self.raw, reference)?;
        match serde_json::from_value::<ReferenceOr<Schema>>(node.clone()) {
            Ok(ReferenceOr::Item(schema)) => Some(Cow::Owned(schema)),
            Ok(ReferenceOr::Reference { reference: next }) => {
                if self.depth > MAX_DEPTH {
                    return None;
                }
                self.depth += 1;
                let resolved = self.resolve_schema(&next, pointer);
                self.depth -= 1;
                resolved
            }
            Err(error) => {
                self.diags.error(
                    push_pointer(pointer, "$ref"),
                    format!("`{reference}` does not point at a schema: {error}"),
                );
                None
            }
        }
    }

    pub(super) fn inline(
        &mut self,
        schema: &Schema,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        if self.depth > MAX_DEPTH {
            self.diags.warning(
                pointer,
                "schema nested too deeply; typed as serde_json::Value",
            );
            return Type::Json;
        }
        self.depth += 1;
        let data = &schema.schema_data;
        let ty = match &schema.schema_kind {
            SchemaKind::Type(ty) => self.typed(ty, data, hint, pointer, target),
            SchemaKind::OneOf { one_of } => {
                self.union(one_of, data, hint, &push_pointer(pointer, "oneOf"), target)
            }
            SchemaKind::AnyOf { any_of } => {
                self.union(any_of, data, hint, &push_pointer(pointer, "anyOf"), target)
            }
            SchemaKind::AllOf { all_of } => self.all_of(all_of, None, data, hint, pointer, target),
            SchemaKind::Not { .. } => Type::Json,
            SchemaKind::Any(any) => self.any_schema(any, data, hint, pointer, target),
        };
        self.depth -= 1;
        if data.nullable { ty.nullable() } else { ty }
    }

    fn typed(
        &mut self,
        ty: &openapiv3::Type,
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        use openapiv3::Type as T;
        match ty {
            T::String(string) => {
                let values: Vec<String> = string.enumeration.iter().flatten().cloned().collect();
                let nullable = string.enumeration.iter().any(Option::is_none);
                let ty = if values.is_empty() {
                    string_type(&format_text(&string.format))
                } else {
                    self.define_enum(values, data, hint, target)
                };
                if nullable { ty.nullable() } else { ty }
            }
            T::Number(number) => match number.format {
                VariantOrUnknownOrEmpty::Item(NumberFormat::Float) => Type::F32,
                _ => Type::F64,
            },
            T::Integer(integer) => integer_type(&integer.format),
            T::Boolean(_) => Type::Boolean,
            T::Object(object) => self.object(
                &object.properties,
                &object.required,
                object.additional_properties.as_ref(),
                data,
                hint,
                pointer,
                target,
            ),
            T::Array(array) => self.array(array.items.as_ref(), hint, pointer),
        }
    }

    fn array(
        &mut self,
        items: Option<&ReferenceOr<Box<Schema>>>,
        hint: &str,
        pointer: &str,
    ) -> Type {
        match items {
            Some(items) => {
                let item = self.boxed_schema_type(
                    items,
                    &format!("{hint}Item"),
                    &push_pointer(pointer, "items"),
                );
                Type::Vec(Box::new(item))
            }
            None => Type::Vec(Box::new(Type::Json)),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        properties: &Properties,
        required: &[String],
        additional: Option<&AdditionalProperties>,
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        if properties.is_empty() {
            match additional {
                Some(AdditionalProperties::Schema(schema)) => {
                    let value = self.schema_type(
                        schema,
                        &format!("{hint}Value"),
                        &push_pointer(pointer, "additionalProperties"),
                    );
                    return Type::Map(Box::new(value));
                }
                Some(AdditionalProperties::Any(false)) => {}
                Some(AdditionalProperties::Any(true)) | None => {
                    return Type::Map(Box::new(Type::Json));
                }
            }
        }
        self.define_struct(
            properties, required, additional, data, hint, pointer, target,
        )
    }

    #[allow(clippy::too_many_arguments)]
    fn define_struct(
        &mut self,
        properties: &Properties,
        required: &[String],
        additional: Option<&AdditionalProperties>,
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        let name = match target.name {
            Some(name) => name.to_owned(),
            None => self.type_names.claim(type_name(hint)),
        };
        let slot = self.reserve_slot();
        let mut field_names = Namespace::default();
        let mut fields = Vec::with_capacity(properties.len());
        let properties_pointer = push_pointer(pointer, "properties");
        for (wire_name, property) in properties {
            let field_hint = format!("{name}{}", type_name(wire_name));
            let ty = self.boxed_schema_type(
                property,
                &field_hint,
                &push_pointer(&properties_pointer, wire_name),
            );
            let (ty, nullable) = ty.strip_option();
            let is_required = required.iter().any(|name| name == wire_name);
            let presence = match (is_required, nullable) {
                (false, _) if target.patch => Presence::Patch,
                (true, false) => Presence::Required,
                (true, true) => Presence::RequiredNullable,
                (false, _) => Presence::Optional,
            };
            let (doc, extensions) = match property {
                ReferenceOr::Item(schema) => (
                    doc_of(&schema.schema_data),
                    schema.schema_data.extensions.clone(),
                ),
                ReferenceOr::Reference { .. } => (None, IndexMap::new()),
            };
            fields.push(Field {
                name: field_names.claim(snake_name(wire_name)),
                wire_name: wire_name.clone(),
                ty,
                presence,
                nullable,
                doc,
                boxed: false,
                extensions,
            });
        }
        let additional = match additional {
            Some(AdditionalProperties::Any(true)) => Some(Type::Json),
            Some(AdditionalProperties::Schema(schema)) => Some(self.schema_type(
                schema,
                &format!("{name}Value"),
                &push_pointer(pointer, "additionalProperties"),
            )),
            Some(AdditionalProperties::Any(false)) | None => None,
        }
        .map(|value| AdditionalField {
            name: field_names.claim("additional_properties".into()),
            value,
        });
        self.fill_slot(
            slot,
            TypeDef {
                name: name.clone(),
                doc: doc_of(data),
                kind: TypeKind::Struct(Struct { fields, additional }),
            },
        );
        Type::Named(name)
    }

    fn define_enum(
        &mut self,
        values: Vec<String>,
        data: &SchemaData,
        hint: &str,
        target: Target<'_>,
    ) -> Type {
        let name = match target.name {
            Some(name) => name.to_owned(),
            None => self.type_names.claim(type_name(hint)),
        };
        let mut variant_names = Namespace::default();
        let unknown_variant = variant_names.claim("Unknown".into());
        let mut variants: Vec<EnumVariant> = Vec::new();
        for value in values {
            if variants.iter().any(|variant| variant.value == value) {
                continue;
            }
            let variant_name = if value.is_empty() {
                "Empty".to_owned()
            } else {
                type_name(&value)
            };
            variants.push(EnumVariant {
                name: variant_names.claim(variant_name),
                value,
            });
        }
        self.push_type(TypeDef {
            name: name.clone(),
            doc: doc_of(data),
            kind: TypeKind::Enum(Enum {
                variants,
                unknown_variant,
            }),
        });
        Type::Named(name)
    }

    fn union(
        &mut self,
        members: &[ReferenceOr<Schema>],
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        let kept: Vec<(usize, &ReferenceOr<Schema>)> = members
            .iter()
            .enumerate()
            .filter(|(_, member)| !is_null_schema(member))
            .collect();
        let nullable = kept.len() < members.len();
        let ty = match kept.as_slice() {
            [] => Type::Json,
            [(index, only)] => {
                self.schema_type(only, hint, &push_pointer(pointer, &index.to_string()))
            }
            _ => self.define_union(&kept, data, hint, pointer, target),
        };
        if nullable { ty.nullable() } else { ty }
    }

    fn define_union(
        &mut self,
        members: &[(usize, &ReferenceOr<Schema>)],
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        let name = match target.name {
            Some(name) => name.to_owned(),
            None => self.type_names.claim(type_name(hint)),
        };
        let slot = self.reserve_slot();
        let discriminator = data.discriminator.as_ref();
        let mut variant_names = Namespace::default();
        if discriminator.is_some() {
            variant_names.claim("Unknown".into());
        }
        let mut variants = Vec::new();
        for (position, (index, member)) in members.iter().enumerate() {
            let ty = self.schema_type(
                member,
                &format!("{name}Variant{}", position + 1),
                &push_pointer(pointer, &index.to_string()),
            );
            let tag_values = match (discriminator, member) {
                (Some(discriminator), ReferenceOr::Reference { reference }) => {
                    let key = component_key(reference).unwrap_or_default();
                    let mapped: Vec<String> = discriminator
                        .mapping
                        .iter()
                        .filter(|(_, target)| {
                            *target == reference
                                || **target == key
                                || component_key(target).as_ref() == Some(&key)
                        })
                        .map(|(value, _)| value.clone())
                        .collect();
                    if mapped.is_empty() && !key.is_empty() {
                        vec![key]
                    } else {
                        mapped
                    }
                }
                _ => Vec::new(),
            };
            variants.push(UnionVariant {
                name: variant_names.claim(variant_label(&ty)),
                ty,
                tag_values,
                boxed: false,
            });
        }
        let discriminator = discriminator
            .filter(|_| {
                variants
                    .iter()
                    .all(|variant| !variant.tag_values.is_empty())
            })
            .map(|discriminator| discriminator.property_name.clone());
        self.fill_slot(
            slot,
            TypeDef {
                name: name.clone(),
                doc: doc_of(data),
                kind: TypeKind::Union(Union {
                    variants,
                    discriminator,
                }),
            },
        );
        Type::Named(name)
    }

    fn all_of(
        &mut self,
        members: &[ReferenceOr<Schema>],
        own: Option<(&Properties, &[String], Option<&AdditionalProperties>)>,
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        let own_is_empty = own.is_none_or(|(properties, _, additional)| {
            properties.is_empty() && additional.is_none()
        });
        if let ([only], true) = (members, own_is_empty) {
            return self.schema_type(only, hint, &push_pointer(pointer, "allOf/0"));
        }
        let mut merged = Merged::default();
        if let Some((properties, required, additional)) = own {
            merged.add(properties, required, additional);
        }
        let mut others = Vec::new();
        for (index, member) in members.iter().enumerate() {
            if !self.merge_member(member, &mut merged, pointer) {
                others.push((index, member));
            }
        }
        match (others.as_slice(), merged.properties.is_empty()) {
            ([], _) => self.define_struct(
                &merged.properties,
                &merged.required,
                merged.additional.as_ref(),
                data,
                hint,
                pointer,
                target,
            ),
            ([(index, only)], true) => self.schema_type(
                only,
                hint,
                &push_pointer(pointer, &format!("allOf/{index}")),
            ),
            _ => {
                self.diags.warning(
                    push_pointer(pointer, "allOf"),
                    "allOf combines schemas that are not all objects; typed as serde_json::Value",
                );
                Type::Json
            }
        }
    }

    /// Adds an allOf member's properties; false when it is not an object.
    fn merge_member(
        &mut self,
        member: &ReferenceOr<Schema>,
        merged: &mut Merged,
        pointer: &str,
    ) -> bool {
        match member {
            ReferenceOr::Item(schema) => self.merge_schema(schema, merged, pointer),
            ReferenceOr::Reference { reference } => match self.resolve_schema(reference, pointer) {
                Some(schema) => self.merge_schema(&schema, merged, pointer),
                None => true,
            },
        }
    }

    fn merge_schema(&mut self, schema: &Schema, merged: &mut Merged, pointer: &str) -> bool {
        if self.depth > MAX_DEPTH {
            return false;
        }
        self.depth += 1;
        let merged_ok = match &schema.schema_kind {
            SchemaKind::Type(openapiv3::Type::Object(object)) => {
                merged.add(
                    &object.properties,
                    &object.required,
                    object.additional_properties.as_ref(),
                );
                true
            }
            SchemaKind::AllOf { all_of } => all_of
                .iter()
                .all(|member| self.merge_member(member, merged, pointer)),
            SchemaKind::Any(any) => {
                merged.add(
                    &any.properties,
                    &any.required,
                    any.additional_properties.as_ref(),
                );
                let nested = any
                    .all_of
                    .iter()
                    .all(|member| self.merge_member(member, merged, pointer));
                let composite = !any.one_of.is_empty() || !any.any_of.is_empty();
                let scalar = matches!(any.typ.as_deref(), Some(typ) if typ != "object");
                nested && !composite && !scalar
            }
            _ => false,
        };
        self.depth -= 1;
        merged_ok
    }

    fn any_schema(
        &mut self,
        any: &AnySchema,
        data: &SchemaData,
        hint: &str,
        pointer: &str,
        target: Target<'_>,
    ) -> Type {
        if !any.all_of.is_empty() {
            let own = (
                &any.properties,
                any.required.as_slice(),
                any.additional_properties.as_ref(),
            );
            return self.all_of(&any.all_of, Some(own), data, hint, pointer, target);
        }
        if !any.one_of.is_empty() {
            return self.union(
                &any.one_of,
                data,
                hint,
                &push_pointer(pointer, "oneOf"),
                target,
            );
        }
        if !any.any_of.is_empty() {
            return self.union(
                &any.any_of,
                data,
                hint,
                &push_pointer(pointer, "anyOf"),
                target,
            );
        }
        let strings: Vec<String> = any
            .enumeration
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        let format = any.format.clone().unwrap_or_default();
        match any.typ.as_deref() {
            Some("string") if !strings.is_empty() => self.define_enum(strings, data, hint, target),
            Some("string") => string_type(&format),
            Some("integer") => integer_type(&parse_format(&format)),
            Some("number") if format == "float" => Type::F32,
            Some("number") => Type::F64,
            Some("boolean") => Type::Boolean,
            Some("array") => self.array(any.items.as_ref(), hint, pointer),
            Some("object") => self.object(
                &any.properties,
                &any.required,
                any.additional_properties.as_ref(),
                data,
                hint,
                pointer,
                target,
            ),
            None if !any.properties.is_empty() || any.additional_properties.is_some() => self
                .object(
                    &any.properties,
                    &any.required,
                    any.additional_properties.as_ref(),
                    data,
                    hint,
                    pointer,
                    target,
                ),
            None if !strings.is_empty() && strings.len() == any.enumeration.len() => {
                self.define_enum(strings, data, hint, target)
            }
            None if any.items.is_some() => self.array(any.items.as_ref(), hint, pointer),
            _ => Type::Json,
        }
    }
}

#[derive(Default)]
struct Merged {
    properties: Properties,
    required: Vec<String>,
    additional: Option<AdditionalProperties>,
}

impl Merged {
    fn add(
        &mut self,
        properties: &Properties,
        required: &[String],
        additional: Option<&AdditionalProperties>,
    ) {
        for (name, schema) in properties {
            self.properties
                .entry(name.clone())
                .or_insert_with(|| schema.clone());
        }
        for name in required {
            if !self.required.contains(name) {
                self.required.push(name.clone());
            }
        }
        if let Some(additional) = additional {
            self.additional.get_or_insert_with(|| additional.clone());
        }
    }
}

/// `NAME` of `#/components/schemas/NAME`, percent-decoded and unescaped.
pub(super) fn component_key(reference: &str) -> Option<String> {
    crate::reference::schema_name(reference)
}

fn is_null_schema(schema: &ReferenceOr<Schema>) -> bool {
    match schema {
        ReferenceOr::Item(schema) => match &schema.schema_kind {
            SchemaKind::Any(any) => {
                any.typ.as_deref() == Some("null")
                    || (!any.enumeration.is_empty()
                        && any.enumeration.iter().all(serde_json::Value::is_null))
            }
            SchemaKind::Type(openapiv3::Type::String(string)) => {
                !string.enumeration.is_empty() && string.enumeration.iter().all(Option::is_none)
            }
            _ => false,
        },
        ReferenceOr::Reference { .. } => false,
    }
}

fn format_text(format: &VariantOrUnknownOrEmpty<StringFormat>) -> String {
    match format {
        VariantOrUnknownOrEmpty::Item(StringFormat::Date) => "date".into(),
        VariantOrUnknownOrEmpty::Item(StringFormat::DateTime) => "date-time".into(),
        VariantOrUnknownOrEmpty::Item(_) | VariantOrUnknownOrEmpty::Empty => String::new(),
        VariantOrUnknownOrEmpty::Unknown(text) => text.clone(),
    }
}

fn string_type(format: &str) -> Type {
    match format {
        "date" => Type::Date,
        "date-time" => Type::DateTime,
        "uuid" => Type::Uuid,
        _ => Type::String,
    }
}

fn parse_format(format: &str) -> VariantOrUnknownOrEmpty<IntegerFormat> {
    match format {
        "" => VariantOrUnknownOrEmpty::Empty,
        "int32" => VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32),
        "int64" => VariantOrUnknownOrEmpty::Item(IntegerFormat::Int64),
        other => VariantOrUnknownOrEmpty::Unknown(other.to_owned()),
    }
}

fn integer_type(format: &VariantOrUnknownOrEmpty<IntegerFormat>) -> Type {
    match format {
        VariantOrUnknownOrEmpty::Item(IntegerFormat::Int32) => Type::I32,
        VariantOrUnknownOrEmpty::Unknown(text) => match text.as_str() {
            "int8" | "int16" => Type::I32,
            "uint8" | "uint16" | "uint32" => Type::U32,
            "uint" | "uint64" => Type::U64,
            _ => Type::I64,
        },
        _ => Type::I64,
    }
}

fn variant_label(ty: &Type) -> String {
    match ty {
        Type::Named(name) => name.clone(),
        Type::String => "String".into(),
        Type::Boolean => "Boolean".into(),
        Type::I32 | Type::I64 | Type::U32 | Type::U64 => "Integer".into(),
        Type::F32 | Type::F64 => "Number".into(),
        Type::Date => "Date".into(),
        Type::DateTime => "DateTime".into(),
        Type::Uuid => "Uuid".into(),
        Type::Json => "Value".into(),
        Type::Vec(_) => "Array".into(),
        Type::Map(_) => "Object".into(),
        Type::Option(inner) => variant_label(inner),
    }
}

pub(super) fn doc_of(data: &SchemaData) -> Option<String> {
    match (&data.title, &data.description) {
        (Some(title), Some(description)) if !description.starts_with(title.as_str()) => {
            Some(format!("{title}\n\n{description}"))
        }
        (_, Some(description)) => Some(description.clone()),
        (Some(title), None) => Some(title.clone()),
        (None, None) => None,
    }
}
