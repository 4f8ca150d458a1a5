//! Schemas: OpenAPI 3.1 (JSON Schema 2020-12) keywords lowered to 3.0,
//! Swagger 2.0 extensions, and keyword values `openapiv3` cannot read.

use super::{Dialect, Normalizer, swagger};
use serde_json::{Map, Number, Value};

/// Keywords holding one subschema.
const SINGLE: &[&str] = &[
    "items",
    "additionalProperties",
    "not",
    "contains",
    "propertyNames",
    "if",
    "then",
    "else",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "contentSchema",
];
/// Keywords holding a list of subschemas.
const LISTS: &[&str] = &["allOf", "anyOf", "oneOf"];
/// Keywords holding a map of subschemas.
const MAPS: &[&str] = &[
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
];

/// Keywords that describe a `$ref` without changing what it points at.
const ANNOTATIONS: &[&str] = &[
    "description",
    "summary",
    "title",
    "example",
    "examples",
    "$comment",
];

/// Keywords that only apply to one type, moved into that type's branch
/// when a type array is split.
const STRING_KEYWORDS: &[&str] = &[
    "format",
    "pattern",
    "minLength",
    "maxLength",
    "contentEncoding",
    "contentMediaType",
];
const NUMBER_KEYWORDS: &[&str] = &[
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
];
const ARRAY_KEYWORDS: &[&str] = &[
    "items",
    "prefixItems",
    "minItems",
    "maxItems",
    "uniqueItems",
    "contains",
    "minContains",
    "maxContains",
];
const OBJECT_KEYWORDS: &[&str] = &[
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "minProperties",
    "maxProperties",
    "propertyNames",
];

/// Keys a `oneOf` member may have besides its single value and still be
/// read as one value of an enum.
const ENUM_MEMBER_KEYS: &[&str] = &[
    "enum",
    "type",
    "title",
    "description",
    "format",
    "nullable",
    "deprecated",
    "example",
    "$comment",
];

impl Normalizer<'_> {
    /// Normalises the schema at the current pointer, and its subschemas.
    pub(super) fn schema(&mut self, value: &mut Value) {
        if let Value::Bool(accept) = value {
            *value = boolean_schema(*accept);
            return;
        }
        // Reported here rather than by the parser: `openapiv3` retries its
        // schema variants at every level, so a bad leaf deep in a schema
        // costs time exponential in its depth (found by fuzzing).
        let Value::Object(object) = value else {
            self.diags.error(
                self.pointer.as_str(),
                format!(
                    "a schema must be an object (or true/false in OpenAPI 3.1), not {}",
                    kind_of(value)
                ),
            );
            *value = Value::Object(Map::new());
            return;
        };
        if self.dialect == Dialect::Swagger2 {
            swagger::schema_extensions(object);
        }
        if object.contains_key("$ref") && !self.reference_with_siblings(object) {
            return;
        }
        self.type_keyword(object);
        if self.dialect == Dialect::OpenApi31 {
            self.keywords_31(object);
        }
        exclusive_bounds(object);
        self.tuple_items(object);
        hoist_required_flags(object);
        self.subschemas(object);
        if self.dialect == Dialect::OpenApi31 {
            collapse_value_union(object);
        }
        self.keyword_shapes(object);
    }

    /// A `$ref` with other keywords beside it. In 3.0 and 2.0 those are
    /// ignored (the specification says so); in 3.1 they apply too, so the
    /// reference becomes `allOf: [{$ref}]` with the keywords beside it,
    /// unless they only describe it. Returns whether the object is still
    /// to be normalised as a schema.
    fn reference_with_siblings(&mut self, object: &mut Map<String, Value>) -> bool {
        if self.dialect != Dialect::OpenApi31 {
            return false;
        }
        let describes_only = object.keys().all(|key| {
            key == "$ref" || key.starts_with("x-") || ANNOTATIONS.contains(&key.as_str())
        });
        if describes_only {
            return false;
        }
        let Some(reference) = object.shift_remove("$ref") else {
            return false;
        };
        let mut wrapped = Map::new();
        wrapped.insert("$ref".into(), reference);
        match object.get_mut("allOf") {
            Some(Value::Array(members)) => members.insert(0, Value::Object(wrapped)),
            _ => {
                object.insert("allOf".into(), Value::Array(vec![Value::Object(wrapped)]));
            }
        }
        true
    }

    /// `type` arrays (3.1), `type: "null"`, `type: "file"` (2.0).
    fn type_keyword(&mut self, object: &mut Map<String, Value>) {
        match object.get("type") {
            None | Some(Value::String(_)) => {}
            Some(Value::Array(types)) => {
                let types: Vec<String> = types
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect();
                self.type_array(object, types);
            }
            Some(other) => {
                let message = format!(
                    "`type` must be a type name or a list of them, not {}; removed",
                    kind_of(other)
                );
                self.warn_at("type", message);
                object.shift_remove("type");
            }
        }
        match object.get("type").and_then(Value::as_str) {
            Some("null") => {
                object.shift_remove("type");
                make_null_only(object);
            }
            Some("file") => {
                object.insert("type".into(), Value::String("string".into()));
                if !object.contains_key("format") {
                    object.insert("format".into(), Value::String("binary".into()));
                }
            }
            _ => {}
        }
    }

    fn type_array(&mut self, object: &mut Map<String, Value>, types: Vec<String>) {
        let nullable = types.iter().any(|name| name == "null");
        let mut concrete: Vec<String> = Vec::new();
        for name in types {
            if name != "null" && !concrete.contains(&name) {
                concrete.push(name);
            }
        }
        match concrete.as_slice() {
            [] => {
                object.shift_remove("type");
                if nullable {
                    make_null_only(object);
                }
                return;
            }
            [only] => {
                object.insert("type".into(), Value::String(only.clone()));
            }
            _ => {
                object.shift_remove("type");
                let branches = split_types(object, &concrete);
                let key = ["anyOf", "oneOf"]
                    .into_iter()
                    .find(|key| !object.contains_key(*key));
                match key {
                    Some(key) => {
                        object.insert(key.into(), Value::Array(branches));
                    }
                    None => {
                        let mut union = Map::new();
                        union.insert("anyOf".into(), Value::Array(branches));
                        match object.get_mut("allOf") {
                            Some(Value::Array(members)) => members.push(Value::Object(union)),
                            _ => {
                                object.insert(
                                    "allOf".into(),
                                    Value::Array(vec![Value::Object(union)]),
                                );
                            }
                        }
                    }
                }
            }
        }
        if nullable {
            object.insert("nullable".into(), Value::Bool(true));
        }
    }

    /// `const`, `examples`, `contentMediaType`/`contentEncoding`.
    fn keywords_31(&mut self, object: &mut Map<String, Value>) {
        if let Some(value) = object.shift_remove("const") {
            if value.is_null() {
                object.insert("nullable".into(), Value::Bool(true));
            }
            if !object.contains_key("type") && !has_composition(object) {
                if let Some(name) = type_of_value(&value) {
                    object.insert("type".into(), Value::String(name.into()));
                }
            }
            if !object.contains_key("enum") {
                object.insert("enum".into(), Value::Array(vec![value]));
            }
        }
        if matches!(object.get("examples"), Some(Value::Array(_))) {
            if let Some(Value::Array(examples)) = object.shift_remove("examples") {
                if !object.contains_key("example") {
                    if let Some(first) = examples.into_iter().next() {
                        object.insert("example".into(), first);
                    }
                }
            }
        }
        let encoding = object.shift_remove("contentEncoding");
        let media_type = object.shift_remove("contentMediaType");
        object.shift_remove("contentSchema");
        let is_string = matches!(
            object.get("type").and_then(Value::as_str),
            None | Some("string")
        );
        if is_string && !object.contains_key("format") {
            let base64 = encoding
                .as_ref()
                .and_then(Value::as_str)
                .is_some_and(|encoding| encoding.starts_with("base64"));
            if base64 {
                object.insert("format".into(), Value::String("byte".into()));
            } else if media_type.is_some() {
                object.insert("format".into(), Value::String("binary".into()));
            }
        }
    }

    /// `prefixItems` (3.1) and `items` as a list (older JSON Schema): 3.0
    /// has no tuples, so the items may be any of the member types.
    fn tuple_items(&mut self, object: &mut Map<String, Value>) {
        let prefix = match object.shift_remove("prefixItems") {
            Some(Value::Array(prefix)) => Some(("prefixItems", prefix)),
            Some(_) | None => None,
        };
        let (keyword, mut members) = match (prefix, object.get("items")) {
            (Some((keyword, members)), _) => (keyword, members),
            (None, Some(Value::Array(_))) => match object.shift_remove("items") {
                Some(Value::Array(members)) => ("items", members),
                _ => return,
            },
            (None, Some(Value::Bool(_))) => {
                // `items: true` allows anything, `items: false` nothing more.
                object.shift_remove("items");
                return;
            }
            (None, _) => return,
        };
        match object.shift_remove("items") {
            Some(Value::Object(rest)) => members.push(Value::Object(rest)),
            Some(Value::Bool(true)) => members.push(Value::Object(Map::new())),
            _ => {}
        }
        let mut unique: Vec<Value> = Vec::new();
        for member in members {
            if !unique.contains(&member) {
                unique.push(member);
            }
        }
        let items = match unique.len() {
            0 => return,
            1 => unique.pop().unwrap_or_default(),
            _ => {
                let mut union = Map::new();
                union.insert("anyOf".into(), Value::Array(unique));
                Value::Object(union)
            }
        };
        object.insert("items".into(), items);
        if !object.contains_key("type") && !has_composition(object) {
            object.insert("type".into(), Value::String("array".into()));
        }
        self.warn_at(
            keyword,
            "a tuple is typed as an array whose items may be any of the tuple's member types",
        );
    }

    fn subschemas(&mut self, object: &mut Map<String, Value>) {
        for (key, child) in object.iter_mut() {
            let key = key.as_str();
            if SINGLE.contains(&key) {
                if key == "additionalProperties" && child.is_boolean() {
                    continue;
                }
                let length = self.pointer.push(key);
                self.schema(child);
                self.pointer.truncate(length);
            } else if LISTS.contains(&key) {
                let Value::Array(members) = child else {
                    continue;
                };
                let length = self.pointer.push(key);
                for (index, member) in members.iter_mut().enumerate() {
                    let inner = self.pointer.push_index(index);
                    self.schema(member);
                    self.pointer.truncate(inner);
                }
                self.pointer.truncate(length);
            } else if MAPS.contains(&key) {
                let Value::Object(entries) = child else {
                    continue;
                };
                let length = self.pointer.push(key);
                for (name, entry) in entries.iter_mut() {
                    let inner = self.pointer.push(name);
                    self.schema(entry);
                    self.pointer.truncate(inner);
                }
                self.pointer.truncate(length);
            }
        }
    }

    /// Keyword values of the wrong shape: repaired when the meaning is
    /// clear, else dropped with a warning (the parser would otherwise fail
    /// on the whole document, or type the schema as JSON).
    fn keyword_shapes(&mut self, object: &mut Map<String, Value>) {
        let typ = object
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        for key in ["pattern", "format", "title", "description"] {
            match object.get(key) {
                None | Some(Value::String(_)) => {}
                Some(Value::Number(_) | Value::Bool(_)) if key != "pattern" => {
                    if let Some(value) = object.get_mut(key) {
                        *value = Value::String(scalar_text(value));
                    }
                }
                Some(other) => {
                    let message =
                        format!("`{key}` must be a string, not {}; removed", kind_of(other));
                    self.warn_at(key, message);
                    object.shift_remove(key);
                }
            }
        }
        for key in [
            "nullable",
            "readOnly",
            "writeOnly",
            "deprecated",
            "uniqueItems",
            "exclusiveMinimum",
            "exclusiveMaximum",
        ] {
            match object.get(key) {
                None | Some(Value::Bool(_)) => {}
                Some(Value::String(text)) if text == "true" || text == "false" => {
                    let flag = text == "true";
                    object.insert(key.into(), Value::Bool(flag));
                }
                Some(other) => {
                    let message = format!(
                        "`{key}` must be true or false, not {}; removed",
                        kind_of(other)
                    );
                    self.warn_at(key, message);
                    object.shift_remove(key);
                }
            }
        }
        for key in [
            "minLength",
            "maxLength",
            "minItems",
            "maxItems",
            "minProperties",
            "maxProperties",
        ] {
            self.count_keyword(object, key);
        }
        for key in ["minimum", "maximum", "multipleOf"] {
            self.bound_keyword(object, key, typ.as_deref() == Some("integer"));
        }
        self.enum_keyword(object, typ.as_deref());
        self.required_keyword(object);
        for key in ["properties", "discriminator", "externalDocs"] {
            if let Some(other) = object.get(key).filter(|value| !value.is_object()) {
                if key == "discriminator" {
                    if let Value::String(property) = other {
                        let mut discriminator = Map::new();
                        discriminator
                            .insert("propertyName".into(), Value::String(property.clone()));
                        object.insert(key.into(), Value::Object(discriminator));
                        continue;
                    }
                }
                let message = format!("`{key}` must be a mapping, not {}; removed", kind_of(other));
                self.warn_at(key, message);
                object.shift_remove(key);
            }
        }
        if let Some(Value::Object(discriminator)) = object.get("discriminator") {
            if !discriminator
                .get("propertyName")
                .is_some_and(Value::is_string)
            {
                self.warn_at(
                    "discriminator",
                    "a discriminator needs a `propertyName`; removed",
                );
                object.shift_remove("discriminator");
            }
        }
        for key in LISTS {
            if let Some(other) = object.get(*key).filter(|value| !value.is_array()) {
                let message = format!(
                    "`{key}` must be a list of schemas, not {}; removed",
                    kind_of(other)
                );
                self.warn_at(key, message);
                object.shift_remove(*key);
            }
        }
        for key in ["items", "not"] {
            if let Some(other) = object.get(key).filter(|value| !value.is_object()) {
                let message = format!("`{key}` must be a schema, not {}; removed", kind_of(other));
                self.warn_at(key, message);
                object.shift_remove(key);
            }
        }
        if let Some(other) = object
            .get("additionalProperties")
            .filter(|value| !value.is_object() && !value.is_boolean())
        {
            let message = format!(
                "`additionalProperties` must be a schema or true/false, not {}; removed",
                kind_of(other)
            );
            self.warn_at("additionalProperties", message);
            object.shift_remove("additionalProperties");
        }
    }

    /// Lengths and counts: non-negative integers.
    fn count_keyword(&mut self, object: &mut Map<String, Value>, key: &str) {
        let Some(value) = object.get(key) else {
            return;
        };
        if value.as_u64().is_some() {
            return;
        }
        match value
            .as_f64()
            .filter(|number| number.fract() == 0.0 && *number >= 0.0)
        {
            Some(number) if number <= u32::MAX as f64 => {
                object.insert(key.into(), Value::Number(Number::from(number as u64)));
            }
            _ => {
                let message = format!(
                    "`{key}: {}` is not a count (a non-negative integer); removed",
                    scalar_text(value)
                );
                self.warn_at(key, message);
                object.shift_remove(key);
            }
        }
    }

    /// `minimum`, `maximum`, `multipleOf`: numbers; for integers, numbers
    /// a 64-bit integer holds.
    fn bound_keyword(&mut self, object: &mut Map<String, Value>, key: &str, integer: bool) {
        let Some(value) = object.get(key) else {
            return;
        };
        let Some(number) = value.as_f64() else {
            let message = format!("`{key}` must be a number, not {}; removed", kind_of(value));
            self.warn_at(key, message);
            object.shift_remove(key);
            return;
        };
        if !integer || value.as_i64().is_some() {
            return;
        }
        // An integer bound that is not an i64: a whole number written as a
        // float, a fraction, or beyond 64 bits.
        let rounded = match key {
            "minimum" => number.ceil(),
            "maximum" => number.floor(),
            _ => number,
        };
        if rounded.fract() == 0.0 && rounded >= i64::MIN as f64 && rounded < i64::MAX as f64 {
            object.insert(key.into(), Value::Number(Number::from(rounded as i64)));
            return;
        }
        let text = scalar_text(value);
        // 2^63 is how JavaScript prints the largest (smallest) 64-bit
        // integer: the bound means "any i64".
        let i64_limit = -(i64::MIN as f64);
        if number == i64_limit && key == "maximum" {
            object.insert(key.into(), Value::Number(Number::from(i64::MAX)));
            return;
        }
        let unsigned = key == "maximum"
            && number > 0.0
            && !object.contains_key("format")
            && object
                .get("minimum")
                .and_then(Value::as_f64)
                .is_some_and(|minimum| minimum >= 0.0);
        object.shift_remove(key);
        if unsigned {
            // `minimum: 0, maximum: 18446744073709551615`: an unsigned 64-bit
            // integer, which is what the bound says.
            object.insert("format".into(), Value::String("uint64".into()));
            if number < u64::MAX as f64 {
                self.warn_at(
                    key,
                    format!("`maximum: {text}` is beyond a signed 64-bit integer; typed as u64 and the bound not checked"),
                );
            }
        } else if rounded.fract() != 0.0 {
            self.warn_at(
                key,
                format!("`{key}: {text}` is not a whole number, which an integer needs; removed"),
            );
        } else {
            self.warn_at(
                key,
                format!("`{key}: {text}` does not fit a 64-bit integer; removed (the type stays an integer)"),
            );
        }
    }

    fn enum_keyword(&mut self, object: &mut Map<String, Value>, typ: Option<&str>) {
        let Some(value) = object.get_mut("enum") else {
            return;
        };
        let Value::Array(values) = value else {
            let message = format!(
                "`enum` must be a list of values, not {}; removed",
                kind_of(value)
            );
            self.warn_at("enum", message);
            object.shift_remove("enum");
            return;
        };
        let fits = match typ {
            Some("string") => {
                // `enum: [1, 2]` beside `type: string`: the values are sent as text.
                for value in values.iter_mut() {
                    if value.is_number() || value.is_boolean() {
                        *value = Value::String(scalar_text(value));
                    }
                }
                values
                    .iter()
                    .all(|value| value.is_null() || value.is_string())
            }
            Some("integer") => {
                for value in values.iter_mut() {
                    if let Some(whole) = value
                        .as_f64()
                        .filter(|number| value.as_i64().is_none() && number.fract() == 0.0)
                        .filter(|number| *number >= i64::MIN as f64 && *number < i64::MAX as f64)
                    {
                        *value = Value::Number(Number::from(whole as i64));
                    }
                }
                values.iter().all(|value| value.is_null() || value.is_i64())
            }
            Some("number") => values
                .iter()
                .all(|value| value.is_null() || value.is_number()),
            Some("boolean") => values
                .iter()
                .all(|value| value.is_null() || value.is_boolean()),
            _ => true,
        };
        let unsigned = typ == Some("integer")
            && !fits
            && values.iter().all(|value| value.is_null() || value.is_u64());
        if unsigned && !object.contains_key("format") {
            object.insert("format".into(), Value::String("uint64".into()));
            self.warn_at(
                "enum",
                "`enum` lists integers beyond a signed 64-bit integer: typed as u64, and the list is not kept",
            );
            object.shift_remove("enum");
        } else if !fits {
            let typ = typ.unwrap_or_default();
            self.warn_at(
                "enum",
                format!("`enum` lists values that are not of type {typ} (or beyond 64 bits); the list is removed and the type kept"),
            );
            object.shift_remove("enum");
        }
    }

    fn required_keyword(&mut self, object: &mut Map<String, Value>) {
        match object.get_mut("required") {
            None => {}
            Some(Value::Array(names)) => {
                let before = names.len();
                names.retain(Value::is_string);
                if names.len() != before {
                    self.warn_at(
                        "required",
                        "`required` lists property names; the entries that are not strings are removed",
                    );
                }
            }
            Some(Value::Bool(_)) => {
                self.warn_at(
                    "required",
                    "`required: true` on a schema marks nothing: list the property in its parent object's `required`; removed",
                );
                object.shift_remove("required");
            }
            Some(other) => {
                let message = format!(
                    "`required` must be a list of property names, not {}; removed",
                    kind_of(other)
                );
                self.warn_at("required", message);
                object.shift_remove("required");
            }
        }
    }
}

/// `true` (anything) and `false` (nothing) as schemas.
fn boolean_schema(accept: bool) -> Value {
    let mut object = Map::new();
    if !accept {
        object.insert("not".into(), Value::Object(Map::new()));
    }
    Value::Object(object)
}

/// A schema that only allows `null`, in the form 3.0 readers know.
fn make_null_only(object: &mut Map<String, Value>) {
    object.insert("nullable".into(), Value::Bool(true));
    if !object.contains_key("enum") {
        object.insert("enum".into(), Value::Array(vec![Value::Null]));
    }
}

fn has_composition(object: &Map<String, Value>) -> bool {
    ["allOf", "anyOf", "oneOf", "not", "$ref"]
        .iter()
        .any(|key| object.contains_key(*key))
}

/// One `anyOf` branch per type of a type array, each with the keywords of
/// its type (moved out of `object`) and its share of the enum values.
fn split_types(object: &mut Map<String, Value>, types: &[String]) -> Vec<Value> {
    let values = match object.get("enum") {
        Some(Value::Array(values)) => Some(values.clone()),
        _ => None,
    };
    let mut branches = Vec::new();
    let mut moved: Vec<&str> = Vec::new();
    for name in types {
        let keywords = keywords_of(name);
        let mut branch = Map::new();
        branch.insert("type".into(), Value::String(name.clone()));
        for keyword in keywords {
            if let Some(value) = object.get(*keyword) {
                branch.insert((*keyword).into(), value.clone());
                moved.push(keyword);
            }
        }
        if let Some(values) = &values {
            let mine: Vec<Value> = values
                .iter()
                .filter(|value| fits_type(value, name))
                .cloned()
                .collect();
            if mine.is_empty() {
                // The enum allows no value of this type.
                continue;
            }
            branch.insert("enum".into(), Value::Array(mine));
        }
        branches.push(Value::Object(branch));
    }
    for keyword in moved {
        object.shift_remove(keyword);
    }
    if values.is_some() {
        let keep_null = values.iter().flatten().any(Value::is_null);
        object.shift_remove("enum");
        if keep_null {
            object.insert("nullable".into(), Value::Bool(true));
        }
    }
    branches
}

fn keywords_of(name: &str) -> &'static [&'static str] {
    match name {
        "string" => STRING_KEYWORDS,
        "integer" | "number" => NUMBER_KEYWORDS,
        "array" => ARRAY_KEYWORDS,
        "object" => OBJECT_KEYWORDS,
        _ => &[],
    }
}

fn fits_type(value: &Value, name: &str) -> bool {
    match name {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => false,
    }
}

fn type_of_value(value: &Value) -> Option<&'static str> {
    match value {
        Value::String(_) => Some("string"),
        Value::Bool(_) => Some("boolean"),
        Value::Number(number) if number.is_i64() || number.is_u64() => Some("integer"),
        Value::Number(_) => Some("number"),
        Value::Array(_) => Some("array"),
        Value::Object(_) => Some("object"),
        Value::Null => None,
    }
}

/// Numeric `exclusiveMinimum`/`exclusiveMaximum` (3.1) to the 3.0 pair of
/// a bound and a flag, keeping whichever bound is stricter.
fn exclusive_bounds(object: &mut Map<String, Value>) {
    for (exclusive, bound, lower) in [
        ("exclusiveMinimum", "minimum", true),
        ("exclusiveMaximum", "maximum", false),
    ] {
        let Some(Value::Number(limit)) = object.get(exclusive) else {
            continue;
        };
        let limit = limit.clone();
        let limit_value = limit.as_f64().unwrap_or_default();
        let inclusive_is_stricter =
            object
                .get(bound)
                .and_then(Value::as_f64)
                .is_some_and(|existing| {
                    if lower {
                        existing > limit_value
                    } else {
                        existing < limit_value
                    }
                });
        if inclusive_is_stricter {
            object.shift_remove(exclusive);
        } else {
            object.insert(bound.into(), Value::Number(limit));
            object.insert(exclusive.into(), Value::Bool(true));
        }
    }
}

/// `required: true` written on a property (Swagger and JSON Schema
/// draft 3 habit) moved into the object's `required` list.
fn hoist_required_flags(object: &mut Map<String, Value>) {
    let Some(Value::Object(properties)) = object.get_mut("properties") else {
        return;
    };
    let mut hoisted = Vec::new();
    for (name, property) in properties.iter_mut() {
        let Some(property) = property.as_object_mut() else {
            continue;
        };
        if let Some(Value::Bool(flag)) = property.get("required") {
            if *flag {
                hoisted.push(name.clone());
            }
            property.shift_remove("required");
        }
    }
    if hoisted.is_empty() {
        return;
    }
    if !matches!(object.get("required"), Some(Value::Array(_))) {
        object.insert("required".into(), Value::Array(Vec::new()));
    }
    if let Some(Value::Array(required)) = object.get_mut("required") {
        for name in hoisted {
            let name = Value::String(name);
            if !required.contains(&name) {
                required.push(name);
            }
        }
    }
}

/// `oneOf`/`anyOf` whose members are each one value (`const`, the 3.1 way
/// of writing a documented enum) become one `enum`.
fn collapse_value_union(object: &mut Map<String, Value>) {
    if object.contains_key("enum") {
        return;
    }
    for key in ["oneOf", "anyOf"] {
        let Some(Value::Array(members)) = object.get(key) else {
            continue;
        };
        let Some(values) = single_values(members) else {
            continue;
        };
        let non_null: Vec<&Value> = values.iter().filter(|value| !value.is_null()).collect();
        let Some(kind) = common_kind(&non_null) else {
            continue;
        };
        let declared = object
            .get("type")
            .and_then(Value::as_str)
            .map(str::to_owned);
        let compatible = match declared.as_deref() {
            None => true,
            Some(declared) => declared == kind || (declared == "number" && kind == "integer"),
        };
        if !compatible {
            continue;
        }
        let nullable = values.len() != non_null.len();
        let mut unique: Vec<Value> = Vec::new();
        for value in values {
            if !unique.contains(&value) {
                unique.push(value);
            }
        }
        object.shift_remove(key);
        if declared.is_none() {
            object.insert("type".into(), Value::String(kind.into()));
        }
        if nullable {
            object.insert("nullable".into(), Value::Bool(true));
        }
        object.insert("enum".into(), Value::Array(unique));
        return;
    }
}

/// The single value of each member, or None if a member is anything else.
fn single_values(members: &[Value]) -> Option<Vec<Value>> {
    if members.is_empty() {
        return None;
    }
    let mut values = Vec::with_capacity(members.len());
    for member in members {
        let member = member.as_object()?;
        let only_value = member
            .keys()
            .all(|key| key.starts_with("x-") || ENUM_MEMBER_KEYS.contains(&key.as_str()));
        if !only_value {
            return None;
        }
        match member.get("enum") {
            Some(Value::Array(list)) if list.len() == 1 => values.extend(list.first().cloned()),
            _ => return None,
        }
    }
    Some(values)
}

fn common_kind(values: &[&Value]) -> Option<&'static str> {
    let all = |check: fn(&Value) -> bool| values.iter().all(|value| check(value));
    if values.is_empty() {
        None
    } else if all(|value| value.is_i64() || value.is_u64()) {
        Some("integer")
    } else if all(Value::is_number) {
        Some("number")
    } else if all(Value::is_string) {
        Some("string")
    } else if all(Value::is_boolean) {
        Some("boolean")
    } else {
        None
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

pub(super) fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Normalizer, Pointer};
    use super::*;
    use crate::diagnostic::Diagnostics;
    use serde_json::json;

    fn normalized(dialect: Dialect, mut schema: Value) -> (Value, Vec<String>) {
        let mut diags = Diagnostics::new("spec.yaml");
        let mut normalizer = Normalizer {
            dialect,
            diags: &mut diags,
            pointer: Pointer::default(),
        };
        normalizer.schema(&mut schema);
        let messages = diags
            .into_vec()
            .into_iter()
            .map(|d| d.to_string())
            .collect();
        (schema, messages)
    }

    fn v31(schema: Value) -> Value {
        let (schema, warnings) = normalized(Dialect::OpenApi31, schema);
        assert!(warnings.is_empty(), "{warnings:?}");
        schema
    }

    #[test]
    fn several_types_become_any_of_with_their_keywords() {
        assert_eq!(
            v31(
                json!({"type": ["string", "integer", "null"], "maxLength": 3, "minimum": 1, "description": "d"})
            ),
            json!({
                "description": "d",
                "anyOf": [{"type": "string", "maxLength": 3}, {"type": "integer", "minimum": 1}],
                "nullable": true,
            })
        );
    }

    #[test]
    fn null_alone() {
        assert_eq!(
            v31(json!({"type": "null"})),
            json!({"nullable": true, "enum": [null]})
        );
    }

    #[test]
    fn const_becomes_a_single_value_enum() {
        assert_eq!(
            v31(json!({"const": "card"})),
            json!({"type": "string", "enum": ["card"]})
        );
    }

    #[test]
    fn one_of_constants_becomes_an_enum() {
        assert_eq!(
            v31(
                json!({"type": "integer", "oneOf": [{"title": "ONE", "const": 1}, {"title": "TWO", "const": 2}]})
            ),
            json!({"type": "integer", "enum": [1, 2]})
        );
    }

    #[test]
    fn references_keep_meaningful_siblings_through_all_of() {
        assert_eq!(
            v31(json!({"$ref": "#/components/schemas/A", "description": "d"})),
            json!({"$ref": "#/components/schemas/A", "description": "d"})
        );
        assert_eq!(
            v31(json!({"$ref": "#/components/schemas/A", "type": ["object", "null"]})),
            json!({"type": "object", "allOf": [{"$ref": "#/components/schemas/A"}], "nullable": true})
        );
        // 3.0 ignores siblings of a reference, as its specification says.
        let (schema, _) = normalized(
            Dialect::OpenApi30,
            json!({"$ref": "#/components/schemas/A", "nullable": true}),
        );
        assert_eq!(
            schema,
            json!({"$ref": "#/components/schemas/A", "nullable": true})
        );
    }

    #[test]
    fn exclusive_bounds_keep_the_stricter() {
        assert_eq!(
            v31(
                json!({"type": "number", "exclusiveMinimum": 0, "minimum": -1, "exclusiveMaximum": 10, "maximum": 5})
            ),
            json!({"type": "number", "exclusiveMinimum": true, "minimum": 0, "maximum": 5})
        );
    }

    #[test]
    fn integers_beyond_64_bits() {
        let (schema, warnings) = normalized(
            Dialect::OpenApi30,
            json!({"type": "integer", "minimum": 4, "maximum": 18446744073709552000.0}),
        );
        assert_eq!(
            schema,
            json!({"type": "integer", "minimum": 4, "format": "uint64"})
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let (schema, warnings) = normalized(
            Dialect::OpenApi30,
            json!({"type": "integer", "minimum": -9223372036854775808.0, "maximum": 9223372036854775807.0}),
        );
        assert_eq!(
            schema,
            json!({"type": "integer", "minimum": i64::MIN, "maximum": i64::MAX})
        );
        assert!(warnings.is_empty(), "{warnings:?}");
        let (schema, warnings) = normalized(
            Dialect::OpenApi30,
            json!({"type": "integer", "minimum": -1e30, "maximum": 2.5}),
        );
        assert_eq!(schema, json!({"type": "integer", "maximum": 2}));
        assert_eq!(
            warnings,
            [
                "warning: spec.yaml#/minimum: `minimum: -1e+30` does not fit a 64-bit integer; removed (the type stays an integer)"
            ]
        );
    }

    #[test]
    fn prefix_items_become_items() {
        let (schema, warnings) = normalized(
            Dialect::OpenApi31,
            json!({"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": false}),
        );
        assert_eq!(
            schema,
            json!({"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}})
        );
        assert_eq!(warnings.len(), 1);
    }

    #[test]
    fn required_flags_move_to_the_parent() {
        let (schema, warnings) = normalized(
            Dialect::OpenApi30,
            json!({"type": "object", "properties": {"a": {"type": "string", "required": true}, "b": true}}),
        );
        assert_eq!(
            schema,
            json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {}}, "required": ["a"]})
        );
        assert!(warnings.is_empty(), "{warnings:?}");
    }
}
