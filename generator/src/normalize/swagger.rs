//! Swagger 2.0 to OpenAPI 3.0: the structure here; schema details
//! (`x-nullable`, `type: file`, `discriminator` as a string) are done by the
//! schema pass that runs on the result.

use super::schema::kind_of;
use super::{METHODS, TARGET_VERSION};
use crate::diagnostic::{Diagnostics, push_pointer};
use serde_json::{Map, Value};

/// What a parameter becomes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// `in: body`: the request body.
    Body,
    /// `in: formData`: a field of a form request body.
    Form,
    /// query, header, path: a 3.0 parameter.
    Parameter,
}

/// Converts `raw` (a Swagger 2.0 document) into OpenAPI 3.0, in place.
pub(super) fn convert(raw: &mut Value, diags: &mut Diagnostics) {
    let Some(source) = raw.as_object_mut() else {
        return;
    };
    let source = std::mem::take(source);
    let mut converter = Converter {
        diags,
        consumes: media_list(source.get("consumes")).unwrap_or_else(json_only),
        produces: media_list(source.get("produces")).unwrap_or_else(json_only),
        shared_parameters: source
            .get("parameters")
            .and_then(Value::as_object)
            .cloned()
            .unwrap_or_default(),
    };
    let mut target = Map::new();
    target.insert("openapi".into(), Value::String(TARGET_VERSION.into()));
    let servers = servers(&source);
    for (key, value) in source {
        match key.as_str() {
            "swagger" | "host" | "basePath" | "schemes" | "consumes" | "produces" => {}
            "info" => {
                target.insert(key, value);
                if !servers.is_empty() {
                    target.insert("servers".into(), Value::Array(servers.clone()));
                }
            }
            "paths" if value.is_object() => {
                let paths = converter.paths(value);
                target.insert(key, paths);
            }
            "definitions" => {
                component(&mut target, "schemas", value);
            }
            "parameters" | "responses" | "securityDefinitions" if !value.is_object() => {
                // The parser reports the wrong shape, at its 3.0 place.
                let kind = match key.as_str() {
                    "securityDefinitions" => "securitySchemes",
                    other => other,
                };
                component(&mut target, kind, value);
            }
            "parameters" => {
                let parameters = converter.shared_parameter_components(value);
                component(&mut target, "parameters", parameters);
            }
            "responses" => {
                let produces = converter.produces.clone();
                let mut responses = Map::new();
                for (name, response) in as_map(value) {
                    let pointer = push_pointer("/responses", &name);
                    responses.insert(name, converter.response(response, &produces, &pointer));
                }
                component(&mut target, "responses", Value::Object(responses));
            }
            "securityDefinitions" => {
                let schemes = converter.security_schemes(value);
                component(&mut target, "securitySchemes", schemes);
            }
            _ => {
                target.insert(key, value);
            }
        }
    }
    if !target.contains_key("servers") && !servers.is_empty() {
        target.insert("servers".into(), Value::Array(servers));
    }
    *raw = Value::Object(target);
}

/// `#/definitions/X` and `#/responses/X` references to where 3.0 keeps
/// them. Parameter references are rewritten where parameters are.
pub(super) fn rewrite_ref(object: &mut Map<String, Value>) {
    let Some(Value::String(reference)) = object.get_mut("$ref") else {
        return;
    };
    for (from, to) in [
        ("#/definitions/", "#/components/schemas/"),
        ("#/responses/", "#/components/responses/"),
        ("#/parameters/", "#/components/parameters/"),
    ] {
        if let Some(rest) = reference.strip_prefix(from) {
            *reference = format!("{to}{rest}");
            return;
        }
    }
}

/// Swagger's schema extensions that 3.0 has as keywords.
pub(super) fn schema_extensions(object: &mut Map<String, Value>) {
    rewrite_ref(object);
    if let Some(flag) = object.shift_remove("x-nullable") {
        if flag == Value::Bool(true) {
            object.insert("nullable".into(), Value::Bool(true));
        }
    }
}

struct Converter<'d> {
    diags: &'d mut Diagnostics,
    consumes: Vec<String>,
    produces: Vec<String>,
    shared_parameters: Map<String, Value>,
}

impl Converter<'_> {
    fn paths(&mut self, paths: Value) -> Value {
        let mut converted = Map::new();
        for (path, item) in as_map(paths) {
            if path.starts_with("x-") {
                converted.insert(path, item);
                continue;
            }
            let pointer = push_pointer("/paths", &path);
            converted.insert(path, self.path_item(item, &pointer));
        }
        Value::Object(converted)
    }

    fn path_item(&mut self, item: Value, pointer: &str) -> Value {
        let Value::Object(item) = item else {
            return item;
        };
        let shared = match item.get("parameters") {
            Some(Value::Array(parameters)) => parameters.clone(),
            _ => Vec::new(),
        };
        let shared_pointer = push_pointer(pointer, "parameters");
        let mut converted = Map::new();
        for (key, value) in item {
            if METHODS.contains(&key.as_str()) {
                let operation_pointer = push_pointer(pointer, &key);
                let operation = self.operation(value, &shared, &shared_pointer, &operation_pointer);
                converted.insert(key, operation);
            } else if key == "parameters" {
                // Body and form parameters move into each operation's body.
                let kept: Vec<Value> = shared
                    .iter()
                    .enumerate()
                    .filter_map(|(index, parameter)| {
                        let parameter_pointer = push_pointer(&shared_pointer, &index.to_string());
                        match self.place_of(parameter) {
                            Place::Parameter => {
                                Some(self.parameter(parameter.clone(), &parameter_pointer))
                            }
                            Place::Body | Place::Form => None,
                        }
                    })
                    .collect();
                if !kept.is_empty() {
                    converted.insert(key, Value::Array(kept));
                }
            } else {
                converted.insert(key, value);
            }
        }
        Value::Object(converted)
    }

    fn operation(
        &mut self,
        operation: Value,
        shared: &[Value],
        shared_pointer: &str,
        pointer: &str,
    ) -> Value {
        let Value::Object(operation) = operation else {
            return operation;
        };
        let consumes =
            media_list(operation.get("consumes")).unwrap_or_else(|| self.consumes.clone());
        let produces =
            media_list(operation.get("produces")).unwrap_or_else(|| self.produces.clone());
        let own = match operation.get("parameters") {
            Some(Value::Array(parameters)) => parameters.clone(),
            _ => Vec::new(),
        };
        let own_pointer = push_pointer(pointer, "parameters");

        // Path-level parameters apply unless the operation redefines them
        // (same name and location).
        let mut all: Vec<(Value, String)> = Vec::new();
        let own_keys: Vec<(String, String)> = own.iter().filter_map(|p| self.key_of(p)).collect();
        for (index, parameter) in shared.iter().enumerate() {
            let overridden = self
                .key_of(parameter)
                .is_some_and(|key| own_keys.contains(&key));
            if !overridden {
                let place = self.place_of(parameter);
                if place != Place::Parameter {
                    all.push((
                        parameter.clone(),
                        push_pointer(shared_pointer, &index.to_string()),
                    ));
                }
            }
        }
        for (index, parameter) in own.iter().enumerate() {
            all.push((
                parameter.clone(),
                push_pointer(&own_pointer, &index.to_string()),
            ));
        }

        let mut parameters = Vec::new();
        let mut body: Option<(Value, String)> = None;
        let mut form: Vec<(Value, String)> = Vec::new();
        for (parameter, parameter_pointer) in all {
            match self.place_of(&parameter) {
                Place::Parameter => parameters.push(self.parameter(parameter, &parameter_pointer)),
                Place::Body => {
                    if body.is_some() {
                        self.diags.warning(
                            parameter_pointer.clone(),
                            "an operation has one body; this second `in: body` parameter is ignored",
                        );
                    } else {
                        body = Some((self.resolved(parameter), parameter_pointer));
                    }
                }
                Place::Form => form.push((self.resolved(parameter), parameter_pointer)),
            }
        }

        let mut converted = Map::new();
        for (key, value) in operation {
            match key.as_str() {
                "consumes" | "produces" | "schemes" => {}
                "parameters" => {
                    if !parameters.is_empty() {
                        converted.insert(key, Value::Array(std::mem::take(&mut parameters)));
                    }
                }
                "responses" if value.is_object() => {
                    let responses_pointer = push_pointer(pointer, "responses");
                    let mut responses = Map::new();
                    for (status, response) in as_map(value) {
                        if status.starts_with("x-") {
                            responses.insert(status, response);
                            continue;
                        }
                        let response_pointer = push_pointer(&responses_pointer, &status);
                        let response = self.response(response, &produces, &response_pointer);
                        responses.insert(status, response);
                    }
                    converted.insert(key, Value::Object(responses));
                }
                _ => {
                    converted.insert(key, value);
                }
            }
        }
        if let Some((body, body_pointer)) = body {
            if !form.is_empty() {
                self.diags.warning(
                    body_pointer,
                    "an operation with an `in: body` parameter cannot also have `in: formData` ones; the form fields are ignored",
                );
            }
            converted.insert("requestBody".into(), request_body(body, &consumes));
        } else if !form.is_empty() {
            converted.insert("requestBody".into(), form_body(form, &consumes));
        }
        Value::Object(converted)
    }

    /// Where a parameter (or the shared one it references) goes.
    fn place_of(&self, parameter: &Value) -> Place {
        let location = match self.shared_target(parameter) {
            Some(shared) => shared.get("in"),
            None => parameter.get("in"),
        };
        match location.and_then(Value::as_str) {
            Some("body") => Place::Body,
            Some("formData") => Place::Form,
            _ => Place::Parameter,
        }
    }

    fn key_of(&self, parameter: &Value) -> Option<(String, String)> {
        let parameter = self.shared_target(parameter).unwrap_or(parameter);
        Some((
            parameter.get("name")?.as_str()?.to_owned(),
            parameter.get("in")?.as_str()?.to_owned(),
        ))
    }

    /// The shared parameter a `$ref: '#/parameters/NAME'` names.
    fn shared_target(&self, parameter: &Value) -> Option<&Value> {
        let reference = parameter.get("$ref")?.as_str()?;
        let name = crate::reference::component_name(reference, "/parameters")?;
        self.shared_parameters.get(&name)
    }

    /// A body or form parameter, with a reference to a shared one followed
    /// (3.0 has no shared form fields, and bodies are per operation).
    fn resolved(&self, parameter: Value) -> Value {
        match self.shared_target(&parameter) {
            Some(shared) => shared.clone(),
            None => parameter,
        }
    }

    /// The shared non-body, non-form parameters, as 3.0 parameters.
    fn shared_parameter_components(&mut self, parameters: Value) -> Value {
        let mut converted = Map::new();
        for (name, parameter) in as_map(parameters) {
            if self.place_of(&parameter) == Place::Parameter {
                let pointer = push_pointer("/parameters", &name);
                converted.insert(name, self.parameter(parameter, &pointer));
            }
        }
        Value::Object(converted)
    }

    /// A query, header or path parameter: its type moves into `schema`,
    /// `collectionFormat` becomes `style`/`explode`.
    fn parameter(&mut self, parameter: Value, pointer: &str) -> Value {
        let Value::Object(parameter) = parameter else {
            return parameter;
        };
        if parameter.contains_key("$ref") {
            let mut reference = parameter;
            rewrite_ref(&mut reference);
            return Value::Object(reference);
        }
        let location = parameter
            .get("in")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let is_array = parameter.get("type").and_then(Value::as_str) == Some("array");
        let format = parameter
            .get("collectionFormat")
            .and_then(Value::as_str)
            .unwrap_or("csv")
            .to_owned();
        let mut converted = Map::new();
        let mut schema = Map::new();
        for (key, value) in parameter {
            match key.as_str() {
                "name" | "in" | "description" | "required" | "deprecated" | "allowEmptyValue" => {
                    converted.insert(key, value);
                }
                "collectionFormat" => {}
                _ if key.starts_with("x-") && key != "x-nullable" => {
                    converted.insert(key, value);
                }
                _ => {
                    let value = item_value(&key, value);
                    schema.insert(key, value);
                }
            }
        }
        if location == "path" {
            converted.insert("required".into(), Value::Bool(true));
        }
        if is_array {
            let style = match (location.as_str(), format.as_str()) {
                ("query", "multi") => Some(("form", true)),
                ("query", "csv") => Some(("form", false)),
                ("query", "ssv") => Some(("spaceDelimited", false)),
                ("query", "pipes") => Some(("pipeDelimited", false)),
                ("path" | "header", "csv") => Some(("simple", false)),
                _ => None,
            };
            match style {
                Some((style, explode)) => {
                    converted.insert("style".into(), Value::String(style.into()));
                    converted.insert("explode".into(), Value::Bool(explode));
                }
                None => {
                    self.diags.warning(
                        push_pointer(pointer, "collectionFormat"),
                        format!("`collectionFormat: {format}` has no OpenAPI 3 equivalent in {location}; the values are sent comma-separated"),
                    );
                    let style = if location == "query" {
                        "form"
                    } else {
                        "simple"
                    };
                    converted.insert("style".into(), Value::String(style.into()));
                    converted.insert("explode".into(), Value::Bool(false));
                }
            }
        }
        converted.insert("schema".into(), Value::Object(schema));
        Value::Object(converted)
    }

    fn response(&mut self, response: Value, produces: &[String], pointer: &str) -> Value {
        let Value::Object(response) = response else {
            return response;
        };
        if response.contains_key("$ref") {
            let mut reference = response;
            rewrite_ref(&mut reference);
            return Value::Object(reference);
        }
        let mut converted = Map::new();
        let mut schema = None;
        let mut examples = Map::new();
        for (key, value) in response {
            match key.as_str() {
                "schema" => schema = Some(value),
                "examples" => examples = as_map(value),
                "headers" if value.is_object() => {
                    let mut headers = Map::new();
                    for (name, header) in as_map(value) {
                        headers.insert(name, header_object(header));
                    }
                    converted.insert(key, Value::Object(headers));
                }
                _ => {
                    converted.insert(key, value);
                }
            }
        }
        if !converted.contains_key("description") {
            converted.insert("description".into(), Value::String(String::new()));
        }
        if let Some(schema) = schema {
            let media_types: Vec<String> = if produces.is_empty() {
                json_only()
            } else {
                produces.to_vec()
            };
            let mut content = Map::new();
            for media_type in media_types {
                let mut media = Map::new();
                media.insert("schema".into(), schema.clone());
                if let Some(example) = examples.shift_remove(&media_type) {
                    media.insert("example".into(), example);
                }
                content.insert(media_type, Value::Object(media));
            }
            converted.insert("content".into(), Value::Object(content));
        } else if !examples.is_empty() {
            self.diags.warning(
                push_pointer(pointer, "examples"),
                "examples of a response without a schema are dropped",
            );
        }
        Value::Object(converted)
    }

    fn security_schemes(&mut self, definitions: Value) -> Value {
        let mut schemes = Map::new();
        for (name, definition) in as_map(definitions) {
            let pointer = push_pointer("/securityDefinitions", &name);
            let Value::Object(definition) = definition else {
                self.diags.warning(
                    pointer,
                    format!(
                        "a security definition must be a mapping, not {}; skipped",
                        kind_of(&definition)
                    ),
                );
                continue;
            };
            if let Some(scheme) = self.security_scheme(definition, &pointer) {
                schemes.insert(name, scheme);
            }
        }
        Value::Object(schemes)
    }

    fn security_scheme(&mut self, definition: Map<String, Value>, pointer: &str) -> Option<Value> {
        let mut scheme = Map::new();
        let kind = definition
            .get("type")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let text = |key: &str| definition.get(key).cloned();
        match kind.as_str() {
            "basic" => {
                scheme.insert("type".into(), Value::String("http".into()));
                scheme.insert("scheme".into(), Value::String("basic".into()));
            }
            "apiKey" => {
                scheme.insert("type".into(), Value::String("apiKey".into()));
                for key in ["name", "in"] {
                    if let Some(value) = text(key) {
                        scheme.insert(key.into(), value);
                    }
                }
            }
            "oauth2" => {
                let flow_name = definition
                    .get("flow")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let (name, urls): (&str, &[&str]) = match flow_name {
                    "implicit" => ("implicit", &["authorizationUrl"]),
                    "password" => ("password", &["tokenUrl"]),
                    "application" => ("clientCredentials", &["tokenUrl"]),
                    "accessCode" => ("authorizationCode", &["authorizationUrl", "tokenUrl"]),
                    other => {
                        self.diags.warning(
                            push_pointer(pointer, "flow"),
                            format!("OAuth2 flow `{other}` is not one of implicit, password, application, accessCode; the scheme is skipped"),
                        );
                        return None;
                    }
                };
                let mut flow = Map::new();
                for url in urls {
                    flow.insert(
                        (*url).into(),
                        text(url).unwrap_or_else(|| Value::String(String::new())),
                    );
                }
                flow.insert(
                    "scopes".into(),
                    text("scopes").unwrap_or_else(|| Value::Object(Map::new())),
                );
                let mut flows = Map::new();
                flows.insert(name.into(), Value::Object(flow));
                scheme.insert("type".into(), Value::String("oauth2".into()));
                scheme.insert("flows".into(), Value::Object(flows));
            }
            other => {
                self.diags.warning(
                    push_pointer(pointer, "type"),
                    format!("security type `{other}` is not one of basic, apiKey, oauth2; the scheme is skipped"),
                );
                return None;
            }
        }
        for (key, value) in &definition {
            if key == "description" || key.starts_with("x-") {
                scheme.insert(key.clone(), value.clone());
            }
        }
        Some(Value::Object(scheme))
    }
}

/// A body parameter as a request body, one media type per `consumes`.
fn request_body(parameter: Value, consumes: &[String]) -> Value {
    let mut body = Map::new();
    let schema = parameter
        .get("schema")
        .cloned()
        .unwrap_or_else(|| Value::Object(Map::new()));
    let mut content = Map::new();
    let media_types: Vec<String> = if consumes.is_empty() {
        json_only()
    } else {
        consumes.to_vec()
    };
    for media_type in media_types {
        let mut media = Map::new();
        media.insert("schema".into(), schema.clone());
        content.insert(media_type, Value::Object(media));
    }
    if let Some(description) = parameter.get("description") {
        body.insert("description".into(), description.clone());
    }
    body.insert("content".into(), Value::Object(content));
    if parameter.get("required") == Some(&Value::Bool(true)) {
        body.insert("required".into(), Value::Bool(true));
    }
    if let Value::Object(parameter) = parameter {
        for (key, value) in parameter {
            if key.starts_with("x-") {
                body.insert(key, value);
            }
        }
    }
    Value::Object(body)
}

/// Form parameters as one object schema, sent as a URL-encoded form, or
/// as multipart when a field is a file (or `consumes` only allows it).
fn form_body(fields: Vec<(Value, String)>, consumes: &[String]) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut has_file = false;
    for (field, _) in fields {
        let Value::Object(field) = field else {
            continue;
        };
        let Some(name) = field.get("name").and_then(Value::as_str).map(str::to_owned) else {
            continue;
        };
        if field.get("required") == Some(&Value::Bool(true)) {
            required.push(Value::String(name.clone()));
        }
        has_file |= field.get("type").and_then(Value::as_str) == Some("file");
        let mut schema = Map::new();
        for (key, value) in field {
            match key.as_str() {
                "name" | "in" | "required" | "allowEmptyValue" | "collectionFormat" => {}
                _ => {
                    schema.insert(key.clone(), item_value(&key, value));
                }
            }
        }
        properties.insert(name, Value::Object(schema));
    }
    let multipart = "multipart/form-data";
    let urlencoded = "application/x-www-form-urlencoded";
    let allows = |media_type: &str| consumes.iter().any(|allowed| allowed == media_type);
    let media_type = if has_file || (allows(multipart) && !allows(urlencoded)) {
        multipart
    } else {
        urlencoded
    };
    let mut schema = Map::new();
    schema.insert("type".into(), Value::String("object".into()));
    schema.insert("properties".into(), Value::Object(properties));
    let has_required = !required.is_empty();
    if has_required {
        schema.insert("required".into(), Value::Array(required));
    }
    let mut media = Map::new();
    media.insert("schema".into(), Value::Object(schema));
    let mut content = Map::new();
    content.insert(media_type.into(), Value::Object(media));
    let mut body = Map::new();
    body.insert("content".into(), Value::Object(content));
    if has_required {
        body.insert("required".into(), Value::Bool(true));
    }
    Value::Object(body)
}

/// A value of a non-body parameter's or header's type keywords, as a
/// schema keyword: `items` are Swagger "items objects", converted alike.
fn item_value(key: &str, value: Value) -> Value {
    if key != "items" {
        return value;
    }
    let Value::Object(items) = value else {
        return value;
    };
    let mut schema = Map::new();
    for (key, value) in items {
        if key != "collectionFormat" {
            let value = item_value(&key, value);
            schema.insert(key, value);
        }
    }
    Value::Object(schema)
}

/// A response header: its type keywords move into `schema`.
fn header_object(header: Value) -> Value {
    let Value::Object(header) = header else {
        return header;
    };
    let mut converted = Map::new();
    let mut schema = Map::new();
    for (key, value) in header {
        match key.as_str() {
            "description" => {
                converted.insert(key, value);
            }
            "collectionFormat" => {}
            _ if key.starts_with("x-") => {
                converted.insert(key, value);
            }
            _ => {
                schema.insert(key.clone(), item_value(&key, value));
            }
        }
    }
    converted.insert("schema".into(), Value::Object(schema));
    Value::Object(converted)
}

/// `host` + `basePath` + `schemes` as servers, HTTPS first.
fn servers(source: &Map<String, Value>) -> Vec<Value> {
    let base_path = source
        .get("basePath")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .trim_end_matches('/');
    let base_path = if base_path.is_empty() || base_path.starts_with('/') {
        base_path.to_owned()
    } else {
        format!("/{base_path}")
    };
    let Some(host) = source.get("host").and_then(Value::as_str) else {
        return if base_path.is_empty() {
            Vec::new()
        } else {
            vec![server(base_path)]
        };
    };
    let host = host.trim_end_matches('/');
    let mut schemes: Vec<&str> = source
        .get("schemes")
        .and_then(Value::as_array)
        .map(|schemes| schemes.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schemes.retain(|scheme| matches!(*scheme, "https" | "http"));
    if schemes.is_empty() {
        schemes.push("https");
    }
    schemes.sort_by_key(|scheme| *scheme != "https");
    schemes.dedup();
    schemes
        .into_iter()
        .map(|scheme| server(format!("{scheme}://{host}{base_path}")))
        .collect()
}

fn server(url: String) -> Value {
    let mut server = Map::new();
    server.insert("url".into(), Value::String(url));
    Value::Object(server)
}

fn component(target: &mut Map<String, Value>, kind: &str, entries: Value) {
    if entries.as_object().is_some_and(Map::is_empty) {
        return;
    }
    let components = target
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(components) = components {
        components.insert(kind.into(), entries);
    }
}

fn media_list(value: Option<&Value>) -> Option<Vec<String>> {
    let list: Vec<String> = value?
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect();
    (!list.is_empty()).then_some(list)
}

fn json_only() -> Vec<String> {
    vec!["application/json".to_owned()]
}

fn as_map(value: Value) -> Map<String, Value> {
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn converted(mut raw: Value) -> (Value, Vec<String>) {
        let mut diags = Diagnostics::new("spec.json");
        convert(&mut raw, &mut diags);
        let messages = diags
            .into_vec()
            .into_iter()
            .map(|d| d.to_string())
            .collect();
        (raw, messages)
    }

    #[test]
    fn servers_from_host_base_path_and_schemes() {
        let (raw, _) = converted(json!({
            "swagger": "2.0", "host": "api.example.com", "basePath": "/v1/", "schemes": ["http", "https"],
            "info": {"title": "t", "version": "1"}, "paths": {},
        }));
        assert_eq!(
            raw["servers"],
            json!([{"url": "https://api.example.com/v1"}, {"url": "http://api.example.com/v1"}])
        );
    }

    #[test]
    fn wrong_shapes_are_left_for_the_parser_to_report() {
        let (raw, _) = converted(json!({
            "swagger": "2.0", "info": {"title": "t", "version": "1"},
            "paths": [1], "definitions": [], "parameters": 5,
        }));
        assert_eq!(raw["paths"], json!([1]));
        assert_eq!(raw["components"], json!({"schemas": [], "parameters": 5}));
    }

    #[test]
    fn body_form_and_query_parameters() {
        let (raw, warnings) = converted(json!({
            "swagger": "2.0",
            "info": {"title": "t", "version": "1"},
            "consumes": ["application/json"],
            "parameters": {"limit": {"name": "limit", "in": "query", "type": "integer"}},
            "paths": {"/pets": {
                "post": {
                    "parameters": [
                        {"name": "pet", "in": "body", "required": true, "schema": {"$ref": "#/definitions/Pet"}},
                        {"$ref": "#/parameters/limit"},
                        {"name": "tags", "in": "query", "type": "array", "items": {"type": "string"}, "collectionFormat": "multi"},
                    ],
                    "responses": {"200": {"description": "ok", "schema": {"$ref": "#/definitions/Pet"}}},
                },
                "put": {
                    "consumes": ["application/x-www-form-urlencoded", "multipart/form-data"],
                    "parameters": [
                        {"name": "name", "in": "formData", "type": "string", "required": true},
                        {"name": "photo", "in": "formData", "type": "file"},
                    ],
                    "responses": {"204": {"description": "done"}},
                },
            }},
            "definitions": {"Pet": {"type": "object"}},
        }));
        assert!(warnings.is_empty(), "{warnings:?}");
        let post = &raw["paths"]["/pets"]["post"];
        assert_eq!(
            post["requestBody"],
            json!({"content": {"application/json": {"schema": {"$ref": "#/definitions/Pet"}}}, "required": true})
        );
        assert_eq!(
            post["parameters"],
            json!([
                {"$ref": "#/components/parameters/limit"},
                {"name": "tags", "in": "query", "style": "form", "explode": true, "schema": {"type": "array", "items": {"type": "string"}}},
            ])
        );
        assert_eq!(
            post["responses"]["200"],
            json!({"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/definitions/Pet"}}}})
        );
        let put = &raw["paths"]["/pets"]["put"];
        assert_eq!(
            put["requestBody"],
            json!({"content": {"multipart/form-data": {"schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "photo": {"type": "file"}},
                "required": ["name"],
            }}}, "required": true})
        );
        assert_eq!(
            raw["components"]["schemas"],
            json!({"Pet": {"type": "object"}})
        );
        assert_eq!(
            raw["components"]["parameters"]["limit"],
            json!({"name": "limit", "in": "query", "schema": {"type": "integer"}})
        );
    }
}
