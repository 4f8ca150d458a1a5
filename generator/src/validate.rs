//! Checks on the parsed document that the types cannot express. Problems
//! the generator can work around are warnings; the rest are errors.

use crate::diagnostic::{Diagnostics, push_pointer};
use openapiv3::{OpenAPI, Parameter, ReferenceOr};
use std::collections::HashMap;

pub fn validate(doc: &OpenAPI, diags: &mut Diagnostics) {
    let mut operation_ids: HashMap<&str, String> = HashMap::new();
    for (path, item) in doc.paths.iter() {
        let path_pointer = push_pointer("/paths", path);
        if !path.starts_with('/') {
            diags.error(
                path_pointer.clone(),
                format!("path `{path}` must start with `/`"),
            );
        }
        let ReferenceOr::Item(item) = item else {
            continue;
        };
        for (method, operation) in item.iter() {
            let pointer = push_pointer(&path_pointer, method);
            if let Some(id) = &operation.operation_id {
                if let Some(first) = operation_ids.insert(id, pointer.clone()) {
                    diags.warning(
                        push_pointer(&pointer, "operationId"),
                        format!("operationId `{id}` is also used at {first}; this method gets a numbered name"),
                    );
                }
            }
            if operation.responses.responses.is_empty() && operation.responses.default.is_none() {
                diags.warning(
                    push_pointer(&pointer, "responses"),
                    "no responses are documented; any 2xx is a success with an untyped body",
                );
            }
            for (index, parameter) in operation
                .parameters
                .iter()
                .chain(&item.parameters)
                .enumerate()
            {
                if let ReferenceOr::Item(Parameter::Path { parameter_data, .. }) = parameter {
                    if !path.contains(&format!("{{{}}}", parameter_data.name)) {
                        diags.warning(
                            push_pointer(&push_pointer(&pointer, "parameters"), &index.to_string()),
                            format!("path parameter `{}` does not appear in the path `{path}`; it is ignored", parameter_data.name),
                        );
                    }
                }
            }
        }
    }
}
