//! Recursive types: a field whose type contains the struct itself (without
//! a `Vec` or map in between) must be boxed, or the type has infinite
//! size. Found with strongly connected components of the "contains
//! directly" graph.

use crate::diagnostic::Diagnostics;
use crate::model::{Type, TypeDef, TypeKind};
use std::collections::HashMap;

pub(super) fn box_recursive_fields(types: &mut [TypeDef], diags: &mut Diagnostics) {
    let index: HashMap<String, usize> = types
        .iter()
        .enumerate()
        .map(|(i, def)| (def.name.clone(), i))
        .collect();
    let edges: Vec<Vec<usize>> = types
        .iter()
        .map(|def| {
            direct_targets(def)
                .filter_map(|name| index.get(name).copied())
                .collect()
        })
        .collect();
    let component = strongly_connected(&edges);
    let alias_cycle: Vec<bool> = (0..types.len())
        .map(|i| {
            matches!(types[i].kind, TypeKind::Alias(_))
                && alias_reaches_itself(i, types, &index, &component)
        })
        .collect();
    let same_component = |from: usize, name: &str| {
        index
            .get(name)
            .is_some_and(|&to| component[to] == component[from])
    };
    for i in 0..types.len() {
        let name = types[i].name.clone();
        match &mut types[i].kind {
            TypeKind::Struct(def) => {
                for field in &mut def.fields {
                    if let Some(target) = direct_name(&field.ty) {
                        field.boxed = same_component(i, target);
                    }
                }
            }
            TypeKind::Union(def) => {
                for variant in &mut def.variants {
                    if let Some(target) = direct_name(&variant.ty) {
                        variant.boxed = same_component(i, target);
                    }
                }
            }
            TypeKind::Alias(ty) if alias_cycle[i] => {
                diags.warning(
                    format!("/components/schemas/{name}"),
                    "this schema is defined only in terms of itself; typed as serde_json::Value",
                );
                *ty = Type::Json;
            }
            TypeKind::Alias(_) | TypeKind::Enum(_) => {}
        }
    }
}

/// An alias that reaches itself through other aliases only: Rust rejects
/// recursive type aliases whatever they contain.
fn alias_reaches_itself(
    start: usize,
    types: &[TypeDef],
    index: &HashMap<String, usize>,
    component: &[usize],
) -> bool {
    let mut stack = vec![start];
    let mut seen = vec![false; types.len()];
    while let Some(current) = stack.pop() {
        let TypeKind::Alias(ty) = &types[current].kind else {
            continue;
        };
        let mut names = Vec::new();
        all_names(ty, &mut names);
        for name in names {
            if let Some(&next) = index.get(name) {
                if next == start {
                    return true;
                }
                if component[next] == component[start] && !seen[next] {
                    seen[next] = true;
                    stack.push(next);
                }
            }
        }
    }
    false
}

fn all_names<'t>(ty: &'t Type, names: &mut Vec<&'t str>) {
    match ty {
        Type::Named(name) => names.push(name),
        Type::Vec(inner) | Type::Map(inner) | Type::Option(inner) => all_names(inner, names),
        _ => {}
    }
}

/// The named type a field holds inline (through `Option` only).
fn direct_name(ty: &Type) -> Option<&str> {
    match ty {
        Type::Named(name) => Some(name),
        Type::Option(inner) => direct_name(inner),
        _ => None,
    }
}

fn direct_targets(def: &TypeDef) -> Box<dyn Iterator<Item = &str> + '_> {
    match &def.kind {
        TypeKind::Struct(def) => {
            Box::new(def.fields.iter().filter_map(|field| direct_name(&field.ty)))
        }
        TypeKind::Union(def) => Box::new(
            def.variants
                .iter()
                .filter_map(|variant| direct_name(&variant.ty)),
        ),
        TypeKind::Alias(ty) => {
            // Aliases are transparent; count every name so alias-only
            // cycles share a component.
            let mut names = Vec::new();
            all_names(ty, &mut names);
            Box::new(names.into_iter())
        }
        TypeKind::Enum(_) => Box::new(std::iter::empty()),
    }
}

/// Tarjan's algorithm, iterative (deep specs would overflow recursion).
/// Returns the component id of each node.
fn strongly_connected(edges: &[Vec<usize>]) -> Vec<usize> {
    const UNVISITED: usize = usize::MAX;
    let n = edges.len();
    let mut index = vec![UNVISITED; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut component = vec![UNVISITED; n];
    let mut stack = Vec::new();
    let mut next_index = 0;
    let mut next_component = 0;
    for root in 0..n {
        if index[root] != UNVISITED {
            continue;
        }
        let mut work = vec![(root, 0usize)];
        while let Some((node, edge)) = work.pop() {
            if edge == 0 {
                index[node] = next_index;
                low[node] = next_index;
                next_index += 1;
                stack.push(node);
                on_stack[node] = true;
            }
            if let Some(&next) = edges[node].get(edge) {
                work.push((node, edge + 1));
                if index[next] == UNVISITED {
                    work.push((next, 0));
                } else if on_stack[next] {
                    low[node] = low[node].min(index[next]);
                }
                continue;
            }
            if low[node] == index[node] {
                while let Some(member) = stack.pop() {
                    on_stack[member] = false;
                    component[member] = next_component;
                    if member == node {
                        break;
                    }
                }
                next_component += 1;
            }
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[node]);
            }
        }
    }
    component
}

#[cfg(test)]
mod tests {
    use super::strongly_connected;

    #[test]
    fn components() {
        // 0 <-> 1, 2 -> 0, 3 -> 3
        let component = strongly_connected(&[vec![1], vec![0], vec![0], vec![3]]);
        assert_eq!(component[0], component[1]);
        assert_ne!(component[2], component[0]);
        assert_ne!(component[3], component[2]);
    }
}
