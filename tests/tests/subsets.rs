//! `x-codegen-operations`: a spec names the operations to generate (by
//! operationId, `METHOD /path` or unified binding); only those and the
//! schemas they reach are generated.

use std::path::Path;

#[test]
fn only_the_named_operations_and_the_schemas_they_reach_are_generated() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/subsets/crm.yaml");
    let text = std::fs::read_to_string(&path).expect("fixture");
    let api = crm_generator::lower_text(&text, &path, "crm.yaml").expect("generates");
    let operations: Vec<&str> = api
        .operations
        .iter()
        .map(|op| op.operation_id.as_str())
        .collect();
    assert_eq!(operations, ["listDeals", "createDeal", "getDeal"]);
    let types: Vec<&str> = api.types.iter().map(|def| def.name.as_str()).collect();
    // Reached through a response `$ref` (Created) and a property (User).
    for kept in ["Deal", "NewDeal", "Created", "User"] {
        assert!(types.contains(&kept), "{kept} missing from {types:?}");
    }
    for pruned in ["Person", "Organization"] {
        assert!(
            !types.contains(&pruned),
            "{pruned} should be pruned: {types:?}"
        );
    }
    let generated = crm_generator::generate_text(&text, &path, "crm.yaml").expect("generates");
    let warnings: Vec<String> = generated.warnings.iter().map(ToString::to_string).collect();
    assert_eq!(
        warnings,
        ["warning: crm.yaml#/x-codegen-operations/3: `deleteNothing` matches no operation"]
    );
}
