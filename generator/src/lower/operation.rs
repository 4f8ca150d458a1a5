//! Paths and operations to client methods.

use super::{Lowerer, is_partial_update};
use crate::diagnostic::push_pointer;
use crate::model::{
    BodyEncoding, Field, Idempotency, Operation, Param, ParamLocation, Presence, QueryStyle,
    RequestBody, ResponseCase, ResponseContent, Responses, StatusMatch, Struct, Type, TypeDef,
    TypeKind,
};
use crate::names::{Namespace, snake_name, type_name};
use indexmap::IndexMap;
use openapiv3::{
    MediaType, Parameter, ParameterSchemaOrContent, PathItem, ReferenceOr, StatusCode,
};
use serde::de::DeserializeOwned;
use std::borrow::Cow;

/// Client methods that are not operations.
const RESERVED_METHODS: &[&str] = &[
    "with_retry_policy",
    "new",
    "with_http_client",
    "base_url",
    "with_extra_query",
    "with_extra_body",
];

impl<'a> Lowerer<'a> {
    pub(super) fn operations(&mut self) -> Vec<Operation> {
        let doc = self.doc;
        let mut method_names = Namespace::with_reserved(RESERVED_METHODS);
        for scheme in doc
            .components
            .iter()
            .flat_map(|c| c.security_schemes.keys())
        {
            method_names.claim(format!("with_{}", snake_name(scheme)));
        }
        let mut operations = Vec::new();
        for (path, item) in doc.paths.iter() {
            let item_pointer = push_pointer("/paths", path);
            let item: Cow<'a, PathItem> = match item {
                ReferenceOr::Item(item) => Cow::Borrowed(item),
                ReferenceOr::Reference { reference } => {
                    match self.resolve::<PathItem>(reference, &item_pointer) {
                        Some(item) => Cow::Owned(item),
                        None => continue,
                    }
                }
            };
            let selected: Vec<_> = item
                .iter()
                .filter(|(method, _)| self.selection.has_operation(path, method))
                .collect();
            for (method, operation) in selected {
                let pointer = push_pointer(&item_pointer, method);
                if let Some(lowered) = self.operation(
                    path,
                    method,
                    operation,
                    &item.parameters,
                    &pointer,
                    &mut method_names,
                ) {
                    operations.push(lowered);
                }
            }
        }
        operations
    }

    /// Deserializes what a local `$ref` points at.
    fn resolve<T: DeserializeOwned>(&mut self, reference: &str, pointer: &str) -> Option<T> {
        let mut reference = reference.to_owned();
        for _ in 0..32 {
            let node = crate::reference::follow_local(self.raw, &reference)?;
            if let Some(next) = node.get("$ref").and_then(|next| next.as_str()) {
                reference = next.to_owned();
                continue;
            }
            return match serde_json::from_value(node.clone()) {
                Ok(value) => Some(value),
                Err(error) => {
                    self.diags.error(
                        push_pointer(pointer, "$ref"),
                        format!("`{reference}` points at something of the wrong kind: {error}"),
                    );
                    None
                }
            };
        }
        None
    }

    fn operation(
        &mut self,
        path: &str,
        method: &str,
        operation: &openapiv3::Operation,
        path_parameters: &[ReferenceOr<Parameter>],
        pointer: &str,
        method_names: &mut Namespace,
    ) -> Option<Operation> {
        let operation_id = match &operation.operation_id {
            Some(id) if !id.trim().is_empty() => id.clone(),
            _ => derived_operation_id(method, path),
        };
        let prefix = type_name(&operation_id);
        let name = method_names.claim(snake_name(&operation_id));

        // The generated method body uses these as locals.
        let mut arg_names = Namespace::with_reserved(&[
            "self", "body", "params", "path", "request", "query", "cookies", "response",
        ]);
        let mut params = Vec::new();
        let parameters = self.parameters(path_parameters, &operation.parameters, pointer);
        for (parameter, param_pointer, reference) in &parameters {
            if let Some(param) = self.param(
                parameter,
                &prefix,
                param_pointer,
                reference.as_deref(),
                &mut arg_names,
            ) {
                params.push(param);
            }
        }
        let template_names = path_template_names(path);
        params
            .retain(|p| p.location != ParamLocation::Path || template_names.contains(&p.wire_name));
        for template_name in template_names {
            if !params
                .iter()
                .any(|p| p.location == ParamLocation::Path && p.wire_name == template_name)
            {
                self.diags.warning(
                    push_pointer(pointer, "parameters"),
                    format!("path parameter `{template_name}` is in the path but not declared; taken as a required string"),
                );
                params.push(Param {
                    name: arg_names.claim(snake_name(&template_name)),
                    wire_name: template_name,
                    location: ParamLocation::Path,
                    ty: Type::String,
                    required: true,
                    style: QueryStyle::Form,
                    explode: false,
                    doc: None,
                });
            }
        }
        let options_struct = self.options_struct(&params, &prefix, &name);

        let partial = is_partial_update(method, &operation.extensions);
        let body = match &operation.request_body {
            Some(body) => self.request_body(
                body,
                &prefix,
                partial,
                &push_pointer(pointer, "requestBody"),
            ),
            None => None,
        };
        let (success, errors) = self.responses(
            &operation.responses,
            &prefix,
            &push_pointer(pointer, "responses"),
        );
        let security = self.operation_security(operation);
        let idempotency = idempotency(method, &operation.extensions);
        let doc = [
            operation.summary.as_deref(),
            operation.description.as_deref(),
        ]
        .into_iter()
        .flatten()
        .filter(|text| !text.trim().is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
        Some(Operation {
            name,
            operation_id,
            method: method.to_ascii_uppercase(),
            path: path.to_owned(),
            doc: (!doc.is_empty()).then_some(doc),
            params,
            options_struct,
            body,
            success,
            errors,
            security,
            idempotency,
            extensions: operation.extensions.clone(),
        })
    }

    /// Path-level parameters overridden by operation-level ones.
    fn parameters(
        &mut self,
        path_level: &[ReferenceOr<Parameter>],
        operation_level: &[ReferenceOr<Parameter>],
        pointer: &str,
    ) -> Vec<(Parameter, String, Option<String>)> {
        let mut merged: IndexMap<(String, &'static str), (Parameter, String, Option<String>)> =
            IndexMap::new();
        let path_pointer = push_pointer(&pointer[..pointer.rfind('/').unwrap_or(0)], "parameters");
        let op_pointer = push_pointer(pointer, "parameters");
        let levels = [(path_level, path_pointer), (operation_level, op_pointer)];
        for (list, list_pointer) in levels {
            for (index, parameter) in list.iter().enumerate() {
                let param_pointer = push_pointer(&list_pointer, &index.to_string());
                let (parameter, reference) = match parameter {
                    ReferenceOr::Item(parameter) => (parameter.clone(), None),
                    ReferenceOr::Reference { reference } => {
                        match self.resolve::<Parameter>(reference, &param_pointer) {
                            Some(parameter) => (parameter, Some(reference.clone())),
                            None => continue,
                        }
                    }
                };
                let location = match parameter {
                    Parameter::Path { .. } => "path",
                    Parameter::Query { .. } => "query",
                    Parameter::Header { .. } => "header",
                    Parameter::Cookie { .. } => "cookie",
                };
                let key = (parameter.parameter_data_ref().name.clone(), location);
                merged.insert(key, (parameter, param_pointer, reference));
            }
        }
        merged.into_values().collect()
    }

    /// A parameter; a shared one (`$ref` to `components/parameters`) gets
    /// one type for all the operations that use it.
    fn param(
        &mut self,
        parameter: &Parameter,
        prefix: &str,
        pointer: &str,
        reference: Option<&str>,
        names: &mut Namespace,
    ) -> Option<Param> {
        let data = parameter.parameter_data_ref();
        let (location, style, default_explode) = match parameter {
            Parameter::Path { .. } => (ParamLocation::Path, QueryStyle::Form, false),
            Parameter::Header { .. } => (ParamLocation::Header, QueryStyle::Form, false),
            Parameter::Cookie { .. } => (ParamLocation::Cookie, QueryStyle::Form, true),
            Parameter::Query { style, .. } => {
                let style = match style {
                    openapiv3::QueryStyle::Form => QueryStyle::Form,
                    openapiv3::QueryStyle::SpaceDelimited => QueryStyle::SpaceDelimited,
                    openapiv3::QueryStyle::PipeDelimited => QueryStyle::PipeDelimited,
                    openapiv3::QueryStyle::DeepObject => QueryStyle::DeepObject,
                };
                (
                    ParamLocation::Query,
                    style,
                    matches!(style, QueryStyle::Form | QueryStyle::DeepObject),
                )
            }
        };
        if location == ParamLocation::Header
            && ["accept", "content-type", "authorization"]
                .contains(&data.name.to_ascii_lowercase().as_str())
        {
            // OpenAPI says these are ignored as parameters: the client sets them.
            return None;
        }
        let shared_hint = reference
            .and_then(|reference| reference.rsplit('/').next())
            .map(type_name);
        let hint = shared_hint.unwrap_or_else(|| format!("{prefix}{}", type_name(&data.name)));
        let memo = reference.map(|reference| format!("parameter:{reference}"));
        let known = memo
            .as_ref()
            .and_then(|memo| self.deep_refs.get(memo))
            .cloned();
        let ty = if let Some(ty) = known {
            ty
        } else {
            match &data.format {
                ParameterSchemaOrContent::Schema(schema) => {
                    self.schema_type(schema, &hint, &push_pointer(pointer, "schema"))
                }
                ParameterSchemaOrContent::Content(content) => match content.iter().next() {
                    Some((
                        media_type,
                        MediaType {
                            schema: Some(schema),
                            ..
                        },
                    )) => {
                        let content_pointer =
                            push_pointer(&push_pointer(pointer, "content"), media_type);
                        self.schema_type(schema, &hint, &push_pointer(&content_pointer, "schema"))
                    }
                    _ => Type::String,
                },
            }
        };
        if let Some(memo) = memo {
            self.deep_refs.insert(memo, ty.clone());
        }
        let (ty, _) = ty.strip_option();
        Some(Param {
            name: names.claim(snake_name(&data.name)),
            wire_name: data.name.clone(),
            location,
            ty,
            required: data.required || location == ParamLocation::Path,
            style,
            explode: data.explode.unwrap_or(default_explode),
            doc: data.description.clone(),
        })
    }

    /// The struct holding an operation's optional parameters.
    fn options_struct(&mut self, params: &[Param], prefix: &str, method: &str) -> Option<String> {
        let fields: Vec<Field> = params
            .iter()
            .filter(|param| !param.required)
            .map(|param| Field {
                name: param.name.clone(),
                wire_name: param.wire_name.clone(),
                ty: param.ty.clone(),
                presence: Presence::Optional,
                nullable: false,
                doc: param.doc.clone(),
                boxed: false,
                extensions: IndexMap::new(),
            })
            .collect();
        if fields.is_empty() {
            return None;
        }
        let name = self.type_names.claim(format!("{prefix}Params"));
        self.push_type(TypeDef {
            name: name.clone(),
            doc: Some(format!("Optional parameters of [`Client::{method}`].")),
            kind: TypeKind::Struct(Struct {
                fields,
                additional: None,
            }),
        });
        Some(name)
    }

    fn request_body(
        &mut self,
        body: &ReferenceOr<openapiv3::RequestBody>,
        prefix: &str,
        partial: bool,
        pointer: &str,
    ) -> Option<RequestBody> {
        let body: Cow<'_, openapiv3::RequestBody> = match body {
            ReferenceOr::Item(body) => Cow::Borrowed(body),
            ReferenceOr::Reference { reference } => Cow::Owned(self.resolve(reference, pointer)?),
        };
        let (content_type, media) = pick_media(&body.content, &["json", "x-www-form-urlencoded"])?;
        let encoding = encoding_of(content_type);
        let schema_pointer = push_pointer(
            &push_pointer(&push_pointer(pointer, "content"), content_type),
            "schema",
        );
        let ty = match (encoding, &media.schema) {
            (BodyEncoding::Json | BodyEncoding::Form, Some(schema)) => {
                let hint = format!("{prefix}Body");
                if partial {
                    self.patch_body_type(schema, &hint, &schema_pointer)
                } else {
                    self.schema_type(schema, &hint, &schema_pointer)
                }
            }
            (BodyEncoding::Json | BodyEncoding::Form, None) => Type::Json,
            (BodyEncoding::Text | BodyEncoding::Bytes, _) => Type::String,
        };
        Some(RequestBody {
            ty,
            encoding,
            content_type: content_type.to_owned(),
            required: body.required,
        })
    }

    /// The body type of a partial update: three-state fields, so a field the
    /// caller did not set is not sent.
    fn patch_body_type(
        &mut self,
        schema: &ReferenceOr<openapiv3::Schema>,
        hint: &str,
        pointer: &str,
    ) -> Type {
        match schema {
            ReferenceOr::Item(schema) => {
                let name = self.type_names.claim(type_name(hint));
                self.inline(
                    schema,
                    hint,
                    pointer,
                    super::schema::Target {
                        name: Some(&name),
                        patch: true,
                    },
                )
            }
            ReferenceOr::Reference { reference } => {
                let Some(key) = super::schema::component_key(reference) else {
                    return self.ref_type(reference, hint, pointer);
                };
                if self.patch_only.contains(&key) {
                    return self.ref_type(reference, hint, pointer);
                }
                if let Some(name) = self.patch_companions.get(&key) {
                    return Type::Named(name.clone());
                }
                let Some(info) = self.components.get(&key) else {
                    return self.ref_type(reference, hint, pointer);
                };
                let name = self.type_names.claim(format!("{}Patch", info.rust_name));
                self.patch_companions.insert(key.clone(), name.clone());
                let doc = self.doc;
                match doc.components.as_ref().and_then(|c| c.schemas.get(&key)) {
                    Some(schema) => {
                        self.define_named(
                            schema,
                            &name,
                            &push_pointer("/components/schemas", &key),
                            true,
                        );
                        Type::Named(name)
                    }
                    None => self.ref_type(reference, hint, pointer),
                }
            }
        }
    }

    fn responses(
        &mut self,
        responses: &openapiv3::Responses,
        prefix: &str,
        pointer: &str,
    ) -> (Responses, Responses) {
        let mut entries: Vec<(StatusMatch, &ReferenceOr<openapiv3::Response>, String)> = Vec::new();
        for (status, response) in &responses.responses {
            let (status, key) = match status {
                StatusCode::Code(code) => (StatusMatch::Code(*code), code.to_string()),
                StatusCode::Range(range) => (StatusMatch::Range(*range), format!("{range}XX")),
            };
            entries.push((status, response, key));
        }
        if let Some(default) = &responses.default {
            entries.push((StatusMatch::Default, default, "default".into()));
        }
        let successes = entries
            .iter()
            .filter(|(status, _, _)| is_success(*status))
            .count();
        let mut success = Responses::default();
        let mut errors = Responses::default();
        for (status, response, key) in entries {
            let response_pointer = push_pointer(pointer, &key);
            let is_ok = is_success(status);
            let hint = match (is_ok, successes) {
                (true, 1) => format!("{prefix}Response"),
                (true, _) => format!("{prefix}Response{}", status_label(status)),
                (false, _) => format!("{prefix}{}", status_label(status)),
            };
            let response: Cow<'_, openapiv3::Response> = match response {
                ReferenceOr::Item(response) => Cow::Borrowed(response),
                ReferenceOr::Reference { reference } => {
                    match self.resolve(reference, &response_pointer) {
                        Some(response) => Cow::Owned(response),
                        None => continue,
                    }
                }
            };
            let content = match pick_media(&response.content, &["json"]) {
                None => ResponseContent::Empty,
                Some((content_type, media)) => match (encoding_of(content_type), &media.schema) {
                    (BodyEncoding::Json, Some(schema)) => {
                        let media_pointer =
                            push_pointer(&push_pointer(&response_pointer, "content"), content_type);
                        ResponseContent::Json(self.schema_type(
                            schema,
                            &hint,
                            &push_pointer(&media_pointer, "schema"),
                        ))
                    }
                    (BodyEncoding::Json, None) => ResponseContent::Json(Type::Json),
                    (BodyEncoding::Text, _) => ResponseContent::Text,
                    (BodyEncoding::Form | BodyEncoding::Bytes, _) => ResponseContent::Bytes,
                },
            };
            let case = ResponseCase {
                status,
                content,
                variant: status_label(status),
            };
            if is_ok {
                success.cases.push(case)
            } else {
                errors.cases.push(case)
            }
        }
        if success.cases.len() > 1 {
            success.enum_name = Some(self.type_names.claim(format!("{prefix}Response")));
        }
        let mut error_types: Vec<&ResponseContent> = Vec::new();
        for case in &errors.cases {
            if matches!(case.content, ResponseContent::Json(_))
                && !error_types.contains(&&case.content)
            {
                error_types.push(&case.content);
            }
        }
        if error_types.len() > 1 {
            errors.enum_name = Some(self.type_names.claim(format!("{prefix}Error")));
        }
        (success, errors)
    }

    fn operation_security(&self, operation: &openapiv3::Operation) -> Vec<String> {
        let requirements = operation.security.as_ref().or(self.doc.security.as_ref());
        let mut schemes = Vec::new();
        for requirement in requirements.into_iter().flatten() {
            for scheme in requirement.keys() {
                if !schemes.contains(scheme) {
                    schemes.push(scheme.clone());
                }
            }
        }
        schemes
    }
}

/// An operation marks itself with `x-idempotency-key: <header>` (the
/// provider deduplicates by that key) or `x-idempotent: true|false`;
/// otherwise HTTP's own semantics decide.
fn idempotency(method: &str, extensions: &IndexMap<String, serde_json::Value>) -> Idempotency {
    if let Some(header) = extensions
        .get("x-idempotency-key")
        .and_then(|value| value.as_str())
    {
        return Idempotency::WithKey(header.to_owned());
    }
    match extensions
        .get("x-idempotent")
        .and_then(|value| value.as_bool())
    {
        Some(true) => Idempotency::Idempotent,
        Some(false) => Idempotency::NotIdempotent,
        None if ["get", "head", "options", "put", "delete", "trace"]
            .contains(&method.to_ascii_lowercase().as_str()) =>
        {
            Idempotency::Idempotent
        }
        None => Idempotency::NotIdempotent,
    }
}

fn is_success(status: StatusMatch) -> bool {
    match status {
        StatusMatch::Code(code) => (200..300).contains(&code),
        StatusMatch::Range(range) => range == 2,
        StatusMatch::Default => false,
    }
}

/// A readable name for a status: `Ok`, `NotFound`, `Status418`.
fn status_label(status: StatusMatch) -> String {
    let label = match status {
        StatusMatch::Code(code) => match code {
            200 => "Ok",
            201 => "Created",
            202 => "Accepted",
            203 => "NonAuthoritativeInformation",
            204 => "NoContent",
            205 => "ResetContent",
            206 => "PartialContent",
            207 => "MultiStatus",
            400 => "BadRequest",
            401 => "Unauthorized",
            402 => "PaymentRequired",
            403 => "Forbidden",
            404 => "NotFound",
            405 => "MethodNotAllowed",
            406 => "NotAcceptable",
            409 => "Conflict",
            410 => "Gone",
            412 => "PreconditionFailed",
            413 => "PayloadTooLarge",
            415 => "UnsupportedMediaType",
            422 => "UnprocessableEntity",
            429 => "TooManyRequests",
            500 => "InternalServerError",
            501 => "NotImplemented",
            502 => "BadGateway",
            503 => "ServiceUnavailable",
            504 => "GatewayTimeout",
            other => return format!("Status{other}"),
        },
        StatusMatch::Range(2) => "Success",
        StatusMatch::Range(4) => "ClientError",
        StatusMatch::Range(5) => "ServerError",
        StatusMatch::Range(other) => return format!("Status{other}XX"),
        StatusMatch::Default => "Default",
    };
    label.to_owned()
}

/// The media type to use: the first matching a preference, else the first.
fn pick_media<'m>(
    content: &'m IndexMap<String, MediaType>,
    preferences: &[&str],
) -> Option<(&'m str, &'m MediaType)> {
    for preference in preferences {
        if let Some((content_type, media)) = content
            .iter()
            .find(|(content_type, _)| content_type.contains(preference))
        {
            return Some((content_type, media));
        }
    }
    content
        .iter()
        .next()
        .map(|(content_type, media)| (content_type.as_str(), media))
}

fn encoding_of(content_type: &str) -> BodyEncoding {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if essence.ends_with("json") || essence == "*/*" {
        BodyEncoding::Json
    } else if essence == "application/x-www-form-urlencoded" {
        BodyEncoding::Form
    } else if essence.starts_with("text/") {
        BodyEncoding::Text
    } else {
        BodyEncoding::Bytes
    }
}

/// `{name}` placeholders of a path template.
fn path_template_names(path: &str) -> Vec<String> {
    path.split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name.to_owned()))
        .collect()
}

/// A stable name for an operation without an operationId:
/// `GET /users/{id}/repos` is `get_users_by_id_repos`.
fn derived_operation_id(method: &str, path: &str) -> String {
    let mut words = vec![method.to_ascii_lowercase()];
    for segment in path.split('/').filter(|segment| !segment.is_empty()) {
        match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
            Some(param) => words.push(format!("by_{param}")),
            None => words.push(segment.to_owned()),
        }
    }
    words.join("_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_readable() {
        assert_eq!(
            derived_operation_id("get", "/users/{id}/repos"),
            "get_users_by_id_repos"
        );
        assert_eq!(derived_operation_id("post", "/"), "post");
    }

    #[test]
    fn media_preference() {
        assert_eq!(
            encoding_of("application/vnd.github+json"),
            BodyEncoding::Json
        );
        assert_eq!(
            encoding_of("application/x-www-form-urlencoded"),
            BodyEncoding::Form
        );
        assert_eq!(encoding_of("text/plain; charset=utf-8"), BodyEncoding::Text);
        assert_eq!(encoding_of("application/octet-stream"), BodyEncoding::Bytes);
    }
}
